//! Real network parts between mfad and the STS double: a CA and a server certificate made
//! by openssl, a TLS front (socat) and an authenticating HTTP proxy (tinyproxy).

use super::wait_until;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A test CA and a certificate it signed for 127.0.0.1.
pub struct Certificates {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Certificates {
    pub fn make(dir: &Path) -> Self {
        let file = |name: &str| dir.join(name).display().to_string();
        let extensions = file("server.ext");
        fs::write(
            &extensions,
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=mfad test CA",
            "-keyout",
            &file("ca.key"),
            "-out",
            &file("ca.pem"),
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &file("server.key"),
            "-out",
            &file("server.csr"),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-days",
            "1",
            "-in",
            &file("server.csr"),
            "-CA",
            &file("ca.pem"),
            "-CAkey",
            &file("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &extensions,
            "-out",
            &file("server.pem"),
        ]);
        Self {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (Debian package openssl) is installed");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let listening = wait_until(Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "{what} does not listen on port {port}");
}

/// socat terminating TLS with the server certificate in front of a plain HTTP server.
pub struct TlsFront {
    pub url: String,
    socat: Child,
}

impl TlsFront {
    pub fn start(certificates: &Certificates, backend_url: &str) -> Self {
        let backend = backend_url
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let port = free_port();
        let socat = Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
                certificates.server_cert.display(),
                certificates.server_key.display()
            ))
            .arg(format!("TCP:{backend}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (Debian package socat) is installed");
        wait_for_port(port, "socat");
        Self {
            url: format!("https://127.0.0.1:{port}"),
            socat,
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
    }
}

/// tinyproxy on a port of its own, asking for a user name and password.
pub struct Proxy {
    pub port: u16,
    log: PathBuf,
    tinyproxy: Child,
}

impl Proxy {
    pub fn start(dir: &Path, user: &str, password: &str) -> Self {
        let port = free_port();
        let log = dir.join("tinyproxy.log");
        let config = dir.join("tinyproxy.conf");
        fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Info\nMaxClients 20\nBasicAuth {user} {password}\n",
                log.display()
            ),
        )
        .unwrap();
        let tinyproxy = Command::new("tinyproxy")
            .args(["-d", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy (Debian package tinyproxy) is installed");
        wait_for_port(port, "tinyproxy");
        Self {
            port,
            log,
            tinyproxy,
        }
    }

    /// The proxy URL with the given credentials.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// The requests tinyproxy logged (`Request (file descriptor …): CONNECT …` lines).
    pub fn requests(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("Request (file descriptor"))
            .map(str::to_owned)
            .collect()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.tinyproxy.kill();
        let _ = self.tinyproxy.wait();
    }
}
