# mfad session indicator for zsh. In ~/.zshrc:  source /path/to/mfad.zsh
# Shows e.g. "[dev 11h42m] " before the prompt for $AWS_PROFILE.
autoload -Uz add-zsh-hook
__mfad_prompt() {
  local segment
  segment=$(mfad prompt 2>/dev/null)
  MFAD_PROMPT=${segment:+[$segment] }
}
add-zsh-hook precmd __mfad_prompt
setopt PROMPT_SUBST
PROMPT='${MFAD_PROMPT}'"$PROMPT"
