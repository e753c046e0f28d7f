//! A pseudo-terminal to give a process a controlling terminal a person could type on.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Pty {
    writer: File,
    output: mpsc::Receiver<u8>,
    /// Everything read from the terminal so far.
    pub seen: String,
    /// Where the text after the last match begins in `seen`.
    matched_up_to: usize,
    _slave: OwnedFd,
}

impl Pty {
    /// Make `command` run with this pty as its controlling terminal.
    pub fn attach(command: &mut Command) -> Self {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two fds into the given ints.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty failed");
        // SAFETY: openpty returned fresh fds that we now own.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        let slave_fd = slave.as_raw_fd();
        // SAFETY: setsid and ioctl are async-signal-safe; slave_fd stays open in the child.
        unsafe {
            command.pre_exec(move || {
                libc::setsid();
                if libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut reader = master.try_clone().unwrap();
        let (sender, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut byte = [0u8; 1];
            while let Ok(1) = reader.read(&mut byte) {
                if sender.send(byte[0]).is_err() {
                    break;
                }
            }
        });
        Self {
            writer: master,
            output,
            seen: String::new(),
            matched_up_to: 0,
            _slave: slave,
        }
    }

    /// Also make the terminal the command's standard input, output and error, as for an
    /// interactive shell.
    pub fn for_stdio(self, command: &mut Command) -> Self {
        let stdio = || std::process::Stdio::from(self._slave.try_clone().unwrap());
        command.stdin(stdio()).stdout(stdio()).stderr(stdio());
        self
    }

    /// Wait until the terminal shows `text` after the previous match.
    pub fn expect(&mut self, text: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(at) = self.seen[self.matched_up_to..].find(text) {
                self.matched_up_to += at + text.len();
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(byte) => self.seen.push(byte as char),
                Err(_) => return false,
            }
        }
    }

    /// Wait until the terminal shows anything (a shell's first prompt).
    pub fn expect_output(&mut self, limit: Duration) -> bool {
        match self.output.recv_timeout(limit) {
            Ok(byte) => {
                self.seen.push(byte as char);
                true
            }
            Err(_) => false,
        }
    }

    /// The last URL the terminal showed (a page to open).
    pub fn last_url(&self) -> String {
        self.seen
            .split_whitespace()
            .rfind(|word| word.starts_with("http"))
            .expect("the terminal showed no URL")
            .to_owned()
    }

    pub fn type_line(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }
}
