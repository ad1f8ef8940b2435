//! The machine's limit for `scripts/bench.sh`: raw axum 0.8 answering one fixed JSON body (the
//! shape of War Room's `/api/v1/health`) on `GET /`, with no middleware, on the same runtime
//! Basalt uses. The benchmark compares Basalt's figures with this one measured in the same run.
//!
//! `cargo run --release -p server --example axum_baseline -- 127.0.0.1:PORT`

use axum::{Router, http::header, routing::get};

const BODY: &str = r#"{"status":"ok","version":"0.1.0","data_mode":"MOCK","database":{"status":"up","backend":"sqlite","latencyMs":0}}"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4999".into());
    let app = Router::new().route(
        "/",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("READY {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
