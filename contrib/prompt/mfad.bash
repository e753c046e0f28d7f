# mfad session indicator for bash. In ~/.bashrc:  source /path/to/mfad.bash
# Shows e.g. "[dev 11h42m] " before the prompt for $AWS_PROFILE; "dev 8m!" when the
# session is due for renewal; nothing when mfad has no session for the profile.
__mfad_prompt() {
  local segment
  segment=$(mfad prompt 2>/dev/null)
  MFAD_PROMPT=${segment:+[$segment] }
}
PROMPT_COMMAND="__mfad_prompt${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
PS1='${MFAD_PROMPT}'"$PS1"
