//! The demo's sandbox: a network namespace joined to this one by a veth pair, with the
//! demo web server inside. Everything is named after this process and removed on drop,
//! also when the demo fails half-way.
//!
//! Setting up the sandbox uses iproute2's `ip`: it is demo scaffolding, not a fault (the
//! faults themselves go through netlink in the agent library).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::web::WEB_SERVER_ARG;

/// Host side address of the veth pair.
pub const HOST_ADDR: &str = "10.213.0.1";
/// The web server's address, inside the namespace.
pub const WEB_ADDR: &str = "10.213.0.2";
/// The web server's port.
pub const WEB_PORT: u16 = 8080;

/// A live sandbox; dropping it removes everything it created.
pub struct Sandbox {
    /// Network namespace name (`/run/netns/<netns>`).
    pub netns: String,
    host_if: String,
    web: Option<Child>,
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running `ip` (iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Sandbox {
    /// Creates the namespace, the veth pair and starts the web server; waits until it
    /// answers.
    pub fn create() -> anyhow::Result<Sandbox> {
        let tag = std::process::id();
        let mut sb = Sandbox {
            netns: format!("fl-demo-{tag}"),
            host_if: format!("fld{tag}h"),
            web: None,
        };
        let web_if = format!("fld{tag}w");
        ip(&["netns", "add", &sb.netns])?;
        ip(&[
            "link",
            "add",
            &sb.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &web_if,
        ])?;
        ip(&["link", "set", &web_if, "netns", &sb.netns])?;
        ip(&[
            "addr",
            "add",
            &format!("{HOST_ADDR}/30"),
            "dev",
            &sb.host_if,
        ])?;
        ip(&["link", "set", &sb.host_if, "up"])?;
        ip(&[
            "-n",
            &sb.netns,
            "addr",
            "add",
            &format!("{WEB_ADDR}/30"),
            "dev",
            &web_if,
        ])?;
        ip(&["-n", &sb.netns, "link", "set", &web_if, "up"])?;
        ip(&["-n", &sb.netns, "link", "set", "lo", "up"])?;
        let exe = std::env::current_exe().context("finding the faultline binary")?;
        let child = Command::new("ip")
            .args(["netns", "exec", &sb.netns])
            .arg(&exe)
            .arg(WEB_SERVER_ARG)
            .arg(format!("{WEB_ADDR}:{WEB_PORT}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the demo web server")?;
        sb.web = Some(child);
        sb.wait_until_serving()?;
        Ok(sb)
    }

    /// The web server's PID (the `ip netns exec` process execs into it).
    pub fn web_pid(&self) -> u32 {
        self.web.as_ref().map_or(0, Child::id)
    }

    /// The URL of `path` on the web server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{WEB_ADDR}:{WEB_PORT}{path}")
    }

    fn wait_until_serving(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = format!("{WEB_ADDR}:{WEB_PORT}")
            .parse()
            .expect("static address");
        while Instant::now() < deadline {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the demo web server did not answer on {addr} within 10 s")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(mut web) = self.web.take() {
            let _ = web.kill();
            let _ = web.wait();
        }
        // Deleting the namespace destroys the veth end inside it, and with it the pair.
        let _ = ip(&["netns", "del", &self.netns]);
        let _ = ip(&["link", "del", &self.host_if]);
    }
}
