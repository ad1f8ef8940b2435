//! `basalt`: serves the products, runs migrations, creates users, prints OpenAPI documents.

mod config;
mod products;

use std::{io::Write, net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use platform::{core::OperatorUser, product::Mount};

/// jemalloc, with its background threads purging freed pages: glibc's malloc kept argon2's
/// 19 MiB per password hash after a burst of sign-ins (206 MB after 21) and never gave it back
/// (figures in docs/observability.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "basalt",
    version,
    about = "One Rust binary serving four product backends"
)]
struct Cli {
    /// Where SQLite databases and generated secrets live [default: ./data].
    #[arg(long, global = true, env = "BASALT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file (default: ./basalt.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the named products (all by default), each on its own port.
    Serve {
        /// Products by name (see `basalt products`).
        products: Vec<String>,
        /// Address to listen on; only with exactly one product.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply migrations to the named products' databases (all by default).
    Migrate { products: Vec<String> },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print a product's OpenAPI document.
    Openapi { product: String },
    /// List the products this binary serves, one name per line.
    Products,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (for example the first admin).
    Create {
        product: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "BASALT_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Print an access token of a new session for an existing account (for scripts and API
    /// tools; recorded in the account's security log).
    Token {
        product: String,
        #[arg(long)]
        email: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Two rustls crypto providers are compiled in (see DEPENDENCIES.md); pick one up front.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let file = config::load_file(cli.config.as_deref())?;
    // Flag or environment, then the file, then the default.
    let data_dir = cli
        .data_dir
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("./data"));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let settings = |p: &dyn Mount, listen: Option<SocketAddr>| {
        config::product_settings(&file, &data_dir, p.name(), p.default_port(), listen)
    };
    match cli.command.unwrap_or(Command::Serve {
        products: Vec::new(),
        listen: None,
    }) {
        Command::Serve { products, listen } => {
            platform::observability::init_logging();
            let products = products::or_all(&products)?;
            anyhow::ensure!(
                listen.is_none() || products.len() == 1,
                "--listen needs exactly one product"
            );
            let mut resolved = Vec::new();
            for p in products {
                resolved.push((p, settings(p, listen)?));
            }
            products::serve(resolved, config::server_settings(&file)?).await
        }
        Command::Migrate { products } => {
            for p in products::or_all(&products)? {
                p.migrate(&settings(p, None)?).await?;
                println!("{}: migrations applied", p.name());
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    product,
                    email,
                    password,
                    role,
                    name,
                },
        } => {
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or("admin").to_owned());
            let product = products::find(&product)?;
            let user = OperatorUser {
                email: &email,
                password: &password,
                name: &name,
                role: &role,
            };
            let created = product.create_user(&settings(product, None)?, user).await?;
            println!(
                "{}: created {role} {email} ({})",
                product.name(),
                created.id
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Token { product, email },
        } => {
            let product = products::find(&product)?;
            let token = product
                .operator_token(&settings(product, None)?, &email)
                .await?;
            println!("{token}");
            Ok(())
        }
        Command::Openapi { product } => {
            println!("{}", products::find(&product)?.openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Products => {
            // Written, not printed: a reader that stops early (`| head`) ends the command
            // quietly instead of panicking on a broken pipe.
            let mut out = std::io::stdout().lock();
            for name in products::names() {
                if writeln!(out, "{name}").is_err() {
                    break;
                }
            }
            Ok(())
        }
    }
}
