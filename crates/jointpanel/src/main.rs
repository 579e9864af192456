#![forbid(unsafe_code)]
//! `jointpanel`: parses the command line and hands over to [`cli::run`].

mod cli;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JOINTPANEL_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    cli::run(<cli::Cli as clap::Parser>::parse())
}
