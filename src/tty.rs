//! The caller's terminal (`/dev/tty`), where a person is asked for a code.
//!
//! credential_process clients capture stdout and stderr, so the prompt goes to the
//! controlling terminal directly. A process in the background of its terminal is treated
//! as having none: reading would stop it with SIGTTIN and hang its caller.

use secrecy::SecretString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;

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
        let fd = file.as_raw_fd();
        // SAFETY: tcgetpgrp and getpgrp only query the kernel about a valid fd.
        let foreground = unsafe { libc::tcgetpgrp(fd) == libc::getpgrp() };
        if !foreground {
            return None;
        }
        let name = tty_name(&file).unwrap_or_else(|| "/dev/tty".to_owned());
        let writer = file.try_clone().ok()?;
        Some(Self {
            name,
            reader: BufReader::new(file),
            writer,
        })
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

    /// Show a prompt and read one line without echo (a long-term secret).
    pub fn ask_hidden(&mut self, prompt: &str) -> io::Result<Option<SecretString>> {
        let fd = self.writer.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        let have_termios = unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
        if have_termios {
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            // SAFETY: sets attributes from a struct tcgetattr filled.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
        }
        let answer = self.ask(prompt);
        if have_termios {
            // SAFETY: restores the attributes read above.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
            let _ = writeln!(self.writer);
        }
        answer
    }
}

fn tty_name(file: &File) -> Option<String> {
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: ttyname_r writes at most buf.len() bytes, NUL-terminated, into buf.
    let rc = unsafe { libc::ttyname_r(file.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}
