//! The real server, in-process, on a temporary data directory.

use std::net::SocketAddr;

use access_server::{RunningServer, ServerConfig};

/// The server on a free port; it can stop ("no network") and start again on the same data
/// and address, so clients keep their server URL.
pub struct Server {
    pub dir: tempfile::TempDir,
    addr: SocketAddr,
    running: Option<RunningServer>,
}

fn config(dir: &std::path::Path, listen: Option<SocketAddr>) -> ServerConfig {
    let mut c = ServerConfig::for_tests(dir.join("server"));
    if let Some(addr) = listen {
        c.listen = addr;
    }
    c
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// The server with `change` made to the tests' configuration.
    pub async fn start_with(change: impl FnOnce(&mut ServerConfig)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut c = config(dir.path(), None);
        change(&mut c);
        let running = access_server::start(c).await.expect("server starts");
        Server {
            dir,
            addr: running.addr(),
            running: Some(running),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The network goes away for every client.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// The network is back: same data, same address.
    pub async fn start_again(&mut self) {
        self.stop().await;
        let running = access_server::start(config(self.dir.path(), Some(self.addr)))
            .await
            .expect("server starts again");
        self.running = Some(running);
    }
}
