//! Several hosts on one machine: network namespaces (`ip netns`) with a veth pair each to
//! the test's own namespace, and TCP proxies in the test's namespace through which those
//! hosts reach the servers (so a test can also take a server away from them). Needs root and
//! iproute2.

use std::net::SocketAddr;
use std::process::Command;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Worker hosts: namespaces with a veth pair each to this one. Hosts are numbered from
/// `first` so that two tests of one process can each have their own.
pub struct Hosts {
    pub names: Vec<String>,
    links: Vec<String>,
    /// This namespace's address on each host's link (where the proxies listen).
    pub gateways: Vec<String>,
}

impl Hosts {
    pub fn make(first: usize, count: usize) -> Result<Hosts, String> {
        let tag = std::process::id() % 10_000;
        let subnet = 100 + (std::process::id() % 100) as usize;
        let mut hosts = Hosts {
            names: Vec::new(),
            links: Vec::new(),
            gateways: Vec::new(),
        };
        for i in first..first + count {
            let ns = format!("wdn{tag}h{i}");
            let link = format!("wdv{tag}h{i}");
            let peer = format!("wdp{tag}h{i}");
            let gateway = format!("10.{subnet}.{}.1", i + 1);
            let address = format!("10.{subnet}.{}.2/24", i + 1);
            let _ = ip(&["netns", "del", &ns]);
            ip(&["netns", "add", &ns])?;
            hosts.names.push(ns.clone());
            ip(&["link", "add", &link, "type", "veth", "peer", "name", &peer])?;
            hosts.links.push(link.clone());
            ip(&["link", "set", &peer, "netns", &ns])?;
            ip(&["addr", "add", &format!("{gateway}/24"), "dev", &link])?;
            ip(&["link", "set", &link, "up"])?;
            ip(&[
                "netns", "exec", &ns, "ip", "addr", "add", &address, "dev", &peer,
            ])?;
            ip(&["netns", "exec", &ns, "ip", "link", "set", &peer, "up"])?;
            ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"])?;
            hosts.gateways.push(gateway);
        }
        Ok(hosts)
    }

    /// A command that runs `program` on host `i` (in its namespace).
    pub fn command(&self, i: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.names[i]]).arg(program);
        c
    }

    /// Cuts host `i` off the network (its link down) or mends it.
    pub fn link(&self, i: usize, up: bool) {
        ip(&[
            "link",
            "set",
            &self.links[i],
            if up { "up" } else { "down" },
        ])
        .expect("link");
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in &self.names {
            let _ = ip(&["netns", "del", ns]);
        }
        for link in &self.links {
            let _ = ip(&["link", "del", link]);
        }
    }
}

/// A TCP proxy in this namespace to `target`, listening on every address: what the worker
/// hosts reach the servers through. `down` drops every connection and refuses new ones.
pub struct Proxy {
    pub port: u16,
    down: watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("0.0.0.0:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (down, watching) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if *watching.borrow() {
                    continue; // refused: dropped at once
                }
                let mut cut = watching.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|d| *d) => {}
                    }
                });
            }
        });
        Proxy { port, down }
    }

    pub fn set_down(&self, down: bool) {
        let _ = self.down.send(down);
    }
}
