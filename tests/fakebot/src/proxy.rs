//! A TCP proxy on loopback that a test can cut, as a database going away would: every
//! open connection is closed and new ones are closed at once until it is restored. And a
//! round-robin load balancer for several instances of the bot.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    open: Mutex<Vec<AbortHandle>>,
}

impl TcpProxy {
    /// Forwards a new loopback port to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if s.cut.load(Ordering::SeqCst) {
                    // Closed at once: the client sees the server go away.
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut open = s.open.lock().unwrap_or_else(|e| e.into_inner());
                open.retain(|t| !t.is_finished());
                open.push(task.abort_handle());
            }
        })
        .abort_handle();
        TcpProxy {
            addr,
            shared,
            accept,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and refuses new ones (they are closed on arrival).
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        let open = std::mem::take(&mut *self.shared.open.lock().unwrap_or_else(|e| e.into_inner()));
        for task in open {
            task.abort();
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// A load balancer in front of several instances, balancing connections round-robin: a
/// connection goes to the next backend that accepts it, so a dead instance is skipped.
pub struct Balancer {
    addr: SocketAddr,
    accept: AbortHandle,
}

impl Balancer {
    pub async fn start(backends: Vec<SocketAddr>) -> Balancer {
        assert!(!backends.is_empty(), "a balancer needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the balancer");
        let addr = listener.local_addr().expect("balancer address");
        let backends = Arc::new(backends);
        let accept = tokio::spawn(async move {
            let mut next = 0usize;
            while let Ok((mut client, _)) = listener.accept().await {
                let (backends, first) = (backends.clone(), next);
                next += 1;
                tokio::spawn(async move {
                    for k in 0..backends.len() {
                        let backend = backends[(first + k) % backends.len()];
                        if let Ok(mut server) = TcpStream::connect(backend).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            return;
                        }
                    }
                    // None accepts: the client sees the connection closed.
                });
            }
        })
        .abort_handle();
        Balancer { addr, accept }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
