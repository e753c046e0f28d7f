//! The caller's terminal (`/dev/tty`), where a person is asked for a code.
//!
//! credential_process clients capture stdout and stderr, so the prompt goes to the
//! controlling terminal directly. A process in the background of its terminal is treated
//! as having none: reading would stop it with SIGTTIN and hang its caller.

use secrecy::SecretString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};

pub struct Terminal {
    /// The device name, e.g. `/dev/pts/3`.
    pub name: String,
    reader: BufReader<File>,
    writer: File,
}

impl Terminal {
    /// The controlling terminal, if this process has one and is in its foreground.
    pub fn open() -> Option<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let foreground = rustix::termios::tcgetpgrp(&file)
            .is_ok_and(|group| group == rustix::process::getpgrp());
        if !foreground {
            return None;
        }
        let name = rustix::termios::ttyname(&file, Vec::new()).map_or_else(
            |_| "/dev/tty".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        let writer = file.try_clone().ok()?;
        Some(Self {
            name,
            reader: BufReader::new(file),
            writer,
        })
    }

    /// Show text on the terminal only (never on a redirected stdout or in a log).
    pub fn show(&mut self, text: &str) -> io::Result<()> {
        self.writer.write_all(text.as_bytes())?;
        self.writer.flush()
    }

    /// Show a prompt and read one line, echoed (an MFA code is single-use).
    /// `None` on end of input.
    pub fn ask(&mut self, prompt: &str) -> io::Result<Option<SecretString>> {
        write!(self.writer, "{prompt}")?;
        self.writer.flush()?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(SecretString::from(line.trim().to_owned())))
    }

    /// Show a prompt and read one line without echo (a long-term secret). If echo cannot
    /// be turned off, nothing is asked: the secret would show on the screen.
    pub fn ask_hidden(&mut self, prompt: &str) -> io::Result<Option<SecretString>> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let saved = tcgetattr(&self.writer)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&self.writer, OptionalActions::Now, &quiet)?;
        let answer = self.ask(prompt);
        let restored = tcsetattr(&self.writer, OptionalActions::Now, &saved);
        let _ = writeln!(self.writer);
        restored?;
        answer
    }
}
