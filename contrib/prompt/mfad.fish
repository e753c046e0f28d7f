# mfad session indicator for fish. In ~/.config/fish/config.fish:  source /path/to/mfad.fish
# Shows e.g. "[dev 11h42m] " before the prompt for $AWS_PROFILE.
functions --copy fish_prompt __mfad_original_prompt
function fish_prompt
    set -l segment (mfad prompt 2>/dev/null)
    test -n "$segment"; and printf '[%s] ' $segment
    __mfad_original_prompt
end
