//! `basalt`: serves the products, runs migrations, manages users, backs up and restores,
//! seeds demo data, prints OpenAPI documents (docs/cli.md).

mod config;
mod ops;
mod products;
mod typescript;

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
        /// Development mode: CORS open to the usual local frontend origins, and in MOCK mode
        /// every mail's subject and links printed on stderr.
        #[arg(long)]
        dev: bool,
    },
    /// Apply migrations to the named products' databases (all by default).
    Migrate {
        products: Vec<String>,
        /// List each migration as applied or pending instead, changing nothing.
        #[arg(long)]
        status: bool,
    },
    /// Copy the named products' SQLite databases (all by default) into DIR, consistently,
    /// while the server may run. PostgreSQL: use pg_dump (the command says how).
    Backup {
        products: Vec<String>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Replace a product's SQLite database with a backup; the server must be stopped. The
    /// current file is kept beside it.
    Restore {
        product: String,
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Fill a product with data.
    Seed {
        #[command(subcommand)]
        command: SeedCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print a product's OpenAPI document.
    Openapi { product: String },
    /// Generate code from a product's OpenAPI document.
    Gen {
        #[command(subcommand)]
        command: GenCommand,
    },
    /// List the products this binary serves, one name per line.
    Products,
}

#[derive(Subcommand)]
enum GenCommand {
    /// Print TypeScript types of the product's API (`paths`, `components`, `operations`, as
    /// openapi-typescript writes them; for openapi-fetch), without npm.
    Types { product: String },
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Demo accounts (one per role) and the product's demo data, made through its services.
    /// Once per database.
    Demo { product: String },
}

#[derive(Subcommand)]
enum UserCommand {
    /// List the accounts: id, email, role, verified, created.
    List {
        product: String,
        /// A JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set an account's password; its sessions end.
    SetPassword {
        product: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "BASALT_USER_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Delete an account; its sessions end at once.
    Delete {
        product: String,
        #[arg(long)]
        email: String,
    },
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
        dev: false,
    }) {
        Command::Serve {
            products,
            listen,
            dev,
        } => {
            platform::observability::init_logging();
            let products = products::or_all(&products)?;
            anyhow::ensure!(
                listen.is_none() || products.len() == 1,
                "--listen needs exactly one product"
            );
            let mut resolved = Vec::new();
            for p in products {
                let mut s = settings(p, listen)?;
                if dev {
                    config::development(&mut s);
                }
                resolved.push((p, s));
            }
            let start = products::Start {
                flags: config::repeat_flags(&data_dir, cli.config.as_deref()),
                dev,
            };
            // Held until the server exits: `restore` refuses while they are.
            let _held = resolved
                .iter()
                .map(|(_, s)| ops::hold_database(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            products::serve(resolved, config::server_settings(&file)?, start).await
        }
        Command::Migrate {
            products,
            status: true,
        } => {
            let mut out = std::io::stdout().lock();
            for p in products::or_all(&products)? {
                for m in p.migration_status(&settings(p, None)?).await? {
                    let state = if m.applied { "applied" } else { "pending" };
                    writeln!(out, "{:<8} {state:<8} {}", p.name(), m.name)?;
                }
            }
            Ok(())
        }
        Command::Migrate {
            products,
            status: false,
        } => {
            for p in products::or_all(&products)? {
                p.migrate(&settings(p, None)?).await?;
                println!("{}: migrations applied", p.name());
            }
            Ok(())
        }
        Command::Backup { products, out } => {
            let mut resolved = Vec::new();
            for p in products::or_all(&products)? {
                resolved.push((p, settings(p, None)?));
            }
            for path in ops::backup(&resolved, &out).await? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Restore { product, from } => {
            let p = products::find(&product)?;
            let kept = ops::restore(p, &settings(p, None)?, &from).await?;
            println!("{}: restored from {}", p.name(), from.display());
            if !kept.as_os_str().is_empty() {
                println!("the previous database is kept as {}", kept.display());
            }
            Ok(())
        }
        Command::Seed {
            command: SeedCommand::Demo { product },
        } => {
            let p = products::find(&product)?;
            let bar = ops::Bar::start();
            let seeded = p.seed_demo(&settings(p, None)?, &bar).await;
            bar.finish();
            let seeded = seeded?;
            println!(
                "{}: demo data seeded; demo accounts (password {}):",
                p.name(),
                seeded.password
            );
            for (email, role) in &seeded.accounts {
                println!("  {email:<32} {role}");
            }
            Ok(())
        }
        Command::User {
            command: UserCommand::List { product, json },
        } => {
            let p = products::find(&product)?;
            ops::print_users(&p.list_users(&settings(p, None)?).await?, json)
        }
        Command::User {
            command:
                UserCommand::SetPassword {
                    product,
                    email,
                    password,
                },
        } => {
            let p = products::find(&product)?;
            let user = p
                .set_password(&settings(p, None)?, &email, &password)
                .await?;
            println!(
                "{}: password set for {} ({}); their sessions ended",
                p.name(),
                user.email,
                user.id
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Delete { product, email },
        } => {
            let p = products::find(&product)?;
            let user = p.delete_user(&settings(p, None)?, &email).await?;
            println!(
                "{}: deleted {} ({}); their sessions ended",
                p.name(),
                user.email,
                user.id
            );
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
            let p = products::find(&product)?;
            let (public_url, app_url) = config::urls(&file, p.name(), p.default_port())?;
            println!("{}", p.openapi(&public_url, &app_url).to_pretty_json()?);
            Ok(())
        }
        Command::Gen {
            command: GenCommand::Types { product },
        } => {
            let p = products::find(&product)?;
            let (public_url, app_url) = config::urls(&file, p.name(), p.default_port())?;
            let doc = serde_json::to_value(p.openapi(&public_url, &app_url))?;
            print!("{}", typescript::generate(&doc));
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
