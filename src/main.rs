//! The `corral` binary: parse the command line and zoo.cfg, set up logging, start the server
//! and run until interrupted.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use corral::config::docker;
use corral::config::jvm::{JvmFlags, JAAS_PROPERTY};
use corral::config::Config;
use corral::sasl::SaslUsers;
use corral::server::{bind_client_port, bind_quorum_port, Listeners, Server};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

/// A ZooKeeper-compatible server. With no arguments: standalone on 127.0.0.1:2181, data in ./data.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// A ZooKeeper zoo.cfg, read as-is.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// A JAAS file with a `Server` section of DIGEST-MD5 users, as ZooKeeper reads it.
    #[arg(long)]
    jaas: Option<PathBuf>,
    /// Start as the official zookeeper image's entrypoint does: write $ZOO_CONF_DIR/zoo.cfg
    /// (/conf) from the ZOO_* variables and $ZOO_DATA_DIR/myid from ZOO_MY_ID, each only if
    /// missing, then run with that zoo.cfg.
    #[arg(long, conflicts_with = "config")]
    docker_entrypoint: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write this server's storage (the dataDir of --config, else ./data) from a stopped
    /// ZooKeeper's data directory: its newest snapshot and the logs after it.
    Import {
        /// ZooKeeper's dataDir (holding version-2/snapshot.*).
        #[arg(long, value_name = "DIR")]
        zookeeper_data_dir: PathBuf,
        /// ZooKeeper's dataLogDir (holding version-2/log.*), if not the dataDir.
        #[arg(long, value_name = "DIR")]
        zookeeper_log_dir: Option<PathBuf>,
        /// Replace corral data that is already there.
        #[arg(long)]
        replace: bool,
        /// No progress display.
        #[arg(long)]
        quiet: bool,
    },
    /// Write this stopped server's state as a ZooKeeper data directory
    /// (version-2/snapshot.<zxid>), for ZooKeeper 3.8 or 3.9 to start on.
    Export {
        /// The ZooKeeper dataDir to write.
        #[arg(long, value_name = "DIR")]
        to_zookeeper_data_dir: PathBuf,
        /// Remove ZooKeeper snapshots and logs already there.
        #[arg(long)]
        replace: bool,
        /// No progress display.
        #[arg(long)]
        quiet: bool,
    },
}

/// Runs `import` or `export` and prints its summary; exits 1 with the reason on failure.
fn migrate(command: Command, config: &Config) -> ! {
    use corral::migrate::{export, import};
    let result = match command {
        Command::Import { zookeeper_data_dir, zookeeper_log_dir, replace, quiet } => {
            let options = import::ImportOptions {
                data_dir: zookeeper_data_dir,
                log_dir: zookeeper_log_dir,
                replace,
                quiet,
            };
            import::run(config, &options).map(|summary| {
                for warning in &summary.report.warnings {
                    eprintln!("corral import: warning: {warning}");
                }
                summary.to_string()
            })
        }
        Command::Export { to_zookeeper_data_dir, replace, quiet } => {
            let options = export::ExportOptions { to: to_zookeeper_data_dir, replace, quiet };
            export::run(config, &options).map(|summary| summary.to_string())
        }
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("corral: {e}");
            std::process::exit(1)
        }
    }
}

/// LMDB maps its files: a page past the end of a file that was cut short (by a failed copy or
/// a damaged disk) faults with SIGBUS instead of returning an error. Say so and exit, rather
/// than die without a word. Only async-signal-safe calls here.
fn exit_on_sigbus() {
    extern "C" fn on_sigbus(_: libc::c_int) {
        const MESSAGE: &[u8] = b"corral: SIGBUS reading a data file: the log or a snapshot is \
            truncated or damaged (an interrupted copy, a full or failing disk); refusing to run\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(74);
        }
    }
    // SAFETY: installs a handler that only calls async-signal-safe functions.
    unsafe { libc::signal(libc::SIGBUS, on_sigbus as *const () as libc::sighandler_t) };
}

/// Says once what of the configuration corral does not act on.
fn report_ignored(config: &Config, flags: &JvmFlags) {
    for key in config.unknown_keys() {
        tracing::warn!(key, "unknown configuration key (ignored)");
    }
    for key in config.unknown_jvm_keys() {
        tracing::warn!(property = format!("zookeeper.{key}"), "unknown JVM property (ignored)");
    }
    for property in flags.unused_properties() {
        tracing::warn!(property, "JVM property that corral does not use (ignored)");
    }
    if !flags.options.is_empty() {
        let options = flags.options.join(" ");
        tracing::info!(%options, "JVM options have no meaning for corral (ignored)");
    }
}

/// The AdminServer's listener, if it is enabled. As in ZooKeeper, a standalone server started
/// from a zoo.cfg does not start without it; a member of an ensemble (and `corral` with no
/// config) says why and serves without it.
async fn bind_admin(config: &Config, from_file: bool) -> anyhow::Result<Option<TcpListener>> {
    let admin = &config.admin;
    if !admin.enabled {
        return Ok(None);
    }
    match TcpListener::bind(admin.addr).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if from_file && !config.ensemble.is_distributed() => Err(anyhow::anyhow!(
            "cannot serve the AdminServer on {}: {e} (set admin.serverPort, or \
             admin.enableServer=false)",
            admin.addr
        )),
        Err(e) => {
            tracing::warn!(addr = %admin.addr, error = %e, "AdminServer not started");
            Ok(None)
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    exit_on_sigbus();
    let mut args = Args::parse();
    // import and export speak through their summary; the server narrates its start.
    let default_filter = if args.command.is_some() { "warn" } else { "info,openraft=warn" };
    // Logs go to stderr, with colours only on a terminal, so scripts can read them.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // openraft narrates every election and snapshot at info: keep its warnings.
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    if args.docker_entrypoint {
        docker::become_zookeeper(|name| std::env::var(name).ok())?;
        args.config = Some(docker::prepare(|name| std::env::var(name).ok())?);
    }
    // ZooKeeper's scripts read java.env from the config's directory.
    let conf_dir = args.config.as_deref().and_then(|p| p.parent());
    let flags = JvmFlags::from_environment(conf_dir);
    let mut config = match &args.config {
        Some(path) => Config::from_file_with(path, &flags).unwrap_or_else(|error| {
            // As ZooKeeper does for an invalid config: say why, exit 2, bind nothing.
            eprintln!("corral: invalid configuration {}: {error}", path.display());
            std::process::exit(2);
        }),
        None => Config::default(),
    };
    let jaas = args.jaas.clone().or_else(|| flags.properties.get(JAAS_PROPERTY).map(Into::into));
    if let Some(jaas) = &jaas {
        config.sasl_users = SaslUsers::load(jaas)?;
        if config.sasl_users.is_empty() {
            tracing::warn!(path = %jaas.display(), "the JAAS file has no Server section users");
        }
    }
    if let Some(command) = args.command {
        migrate(command, &config);
    }
    report_ignored(&config, &flags);
    let peer = match config.ensemble.is_distributed() {
        true => {
            let members = config.ensemble.members.len();
            tracing::info!(myid = config.server_id, members, "starting as a member of an ensemble");
            Some(bind_quorum_port(&config).await?)
        }
        false if config.ensemble.members.len() == 1 => {
            tracing::warn!("only one server specified in server.N lines; running standalone");
            None
        }
        false => None,
    };
    let client = bind_client_port(config.client_addr).await?;
    let metrics = match config.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot serve Prometheus metrics on {addr}: {e}"))?,
        ),
        None => None,
    };
    let admin = bind_admin(&config, args.config.is_some()).await?;
    let server = Server::start(config, Listeners { client, peer, metrics, admin }).await?;
    tracing::info!(addr = %server.addr, "corral serving");
    let mut terminate = signal(SignalKind::terminate())?;
    let failed = tokio::select! {
        result = tokio::signal::ctrl_c() => result.map(|()| false)?,
        _ = terminate.recv() => false,
        () = server.failed() => true,
    };
    tracing::info!("shutting down");
    server.stop().await;
    if failed {
        // As ZooKeeper does when it cannot write its log: exit, so a supervisor sees it.
        tracing::error!("stopped: the log could not take a write (see the error above)");
        std::process::exit(1);
    }
    Ok(())
}
