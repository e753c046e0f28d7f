# Homebrew formula for mfad, built from source. Not tested in CI (no macOS there): try it
# with `brew install --build-from-source contrib/homebrew/mfad.rb`, then
# `brew services start mfad` for the launchd agent (or contrib/launchd/).
class Mfad < Formula
  desc "MFA-aware AWS credential helper daemon"
  homepage "https://github.com/mfad/mfad"
  url "https://github.com/mfad/mfad/archive/refs/tags/v0.1.0.tar.gz"
  # Fill in when the release is tagged: `shasum -a 256` of the tarball above.
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/mfad/mfad.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    man1.install Dir["man/*.1"]
    generate_completions_from_executable(bin/"mfad", "completions")
  end

  service do
    run [opt_bin/"mfad", "daemon"]
    keep_alive successful_exit: false
    log_path var/"log/mfad.log"
    error_log_path var/"log/mfad.log"
  end

  test do
    assert_match "mfad #{version}", shell_output("#{bin}/mfad --version")
    # No daemon runs: the prompt segment prints nothing and exits 0.
    assert_equal "", shell_output("#{bin}/mfad prompt nothing").strip
  end
end
