//! A real SMTP server (aiosmtpd, `smtp_sink.py` beside this file) that writes every mail
//! it accepts to a directory as JSON.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::ports::Reserved;
use crate::process::Proc;

/// The script, found in this crate's source tree (tests run from a checkout).
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/peers/smtp_sink.py");

/// True when Python has aiosmtpd; otherwise prints `SKIPPED: ...` saying so.
pub fn have_aiosmtpd() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: python3 cannot import aiosmtpd: pip install aiosmtpd; ./test.sh does it"
        );
    }
    ok
}

/// aiosmtpd serving on `port`, writing each message to `outdir` as JSON; returned once it
/// serves. Connections to `port` were refused until now — a mail server that is down —
/// and the same port now accepts them: the socket itself is handed to the child as its
/// stdin, so the port is never free for another process to take.
pub fn smtp_sink(port: Reserved, outdir: &Path) -> Proc {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .arg(outdir)
        .stdin(port.into_stdin())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs the SMTP sink");
    let stdout = child.stdout.take().expect("piped stdout");
    let p = Proc(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the SMTP sink's first line");
    assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Write};
    use std::net::TcpStream;

    #[test]
    fn a_mail_to_the_handed_over_port_lands_in_the_directory() {
        if !have_aiosmtpd() {
            return;
        }
        let out = tempfile::tempdir().unwrap();
        let (port, number) = crate::closed_port();
        assert!(TcpStream::connect(("127.0.0.1", number)).is_err());
        let _smtp = smtp_sink(port, out.path());
        let s = TcpStream::connect(("127.0.0.1", number)).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut w = s;
        let mut line = String::new();
        let mut say = |cmd: &str| {
            if !cmd.is_empty() {
                w.write_all(cmd.as_bytes()).unwrap();
            }
            line.clear();
            r.read_line(&mut line).unwrap();
            // Multi-line answers (EHLO) end with "NNN " rather than "NNN-".
            while line.as_bytes().get(3) == Some(&b'-') {
                line.clear();
                r.read_line(&mut line).unwrap();
            }
            line.clone()
        };
        assert!(say("").starts_with("220"));
        assert!(say("EHLO test\r\n").starts_with("250"));
        assert!(say("MAIL FROM:<a@example.org>\r\n").starts_with("250"));
        assert!(say("RCPT TO:<b@example.org>\r\n").starts_with("250"));
        assert!(say("DATA\r\n").starts_with("354"));
        assert!(say("Subject: hi\r\n\r\nbody\r\n.\r\n").starts_with("250"));
        let mail = out.path().join("001.json");
        let got = crate::wait_until(std::time::Duration::from_secs(10), || mail.exists());
        assert!(got.is_some(), "no mail written");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(mail).unwrap()).unwrap();
        assert_eq!(v["subject"], "hi");
    }
}
