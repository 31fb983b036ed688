//! Reference RFC 862 echo server in tokio, "the usual way": the multi-threaded runtime (one worker
//! per core), a task per connection, read into a buffer, `write_all` it back.
//!
//! To keep the comparison fair it uses the same choices as `tcp-echo serve --framing raw`: a
//! 64 KiB read buffer and TCP_NODELAY on. Usage: `tokio-echo-reference [PORT]` (default 0);
//! prints `listening on ADDR`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (mut socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if socket.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}
