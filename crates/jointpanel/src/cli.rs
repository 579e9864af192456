//! The command line (SPEC §10, §11). Environment variables configure; flags override them.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use jp_domain::session::LockoutPolicy;
use jp_domain::{Email, Password, Role};
use jp_store::accounts::{self, UserFields};
use jp_store::audit::{self, Verdict};
use jp_store::{Actor, Store, demo, migrate};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "jointpanel",
    version,
    about = "Joint Panel: multi-agency funding panels for children with complex needs"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Without a command: `serve --demo` (demo data on a first start).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// sqlite://PATH or postgres://… (default: a SQLite file in the data directory)
    #[arg(long, env = "JOINTPANEL_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the SQLite file and attachments live
    #[arg(
        long,
        env = "JOINTPANEL_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
}

impl Global {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("jointpanel.sqlite3").display()
            )
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations and serve the web pages and API
    Serve(ServeArgs),
    /// Apply migrations and exit
    Migrate,
    /// Load the demo data into an empty database
    Demo,
    /// Create an account; the password comes from JOINTPANEL_PASSWORD or standard input
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// referrer, approver, administrator, chair, member, finance, auditor, system-administrator (repeat for several)
        #[arg(long, required = true)]
        role: Vec<String>,
        /// The agency's name or number
        #[arg(long)]
        agency: Option<String>,
    },
    /// Print a new API token for a user (shown once)
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "created on the command line")]
        label: String,
    },
    /// The audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The working-day calendar (bank holidays, closure days, deadlines)
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Add a generated case history (past meetings, children, referrals,
    /// decisions, agreements, budgets, spend) for demonstrations and the
    /// benchmark; needs the demo's people and panels (or your own)
    History {
        /// Children to invent
        #[arg(long, default_value_t = 60)]
        children: u32,
        /// Referrals across them (each child's requests follow one another)
        #[arg(long, default_value_t = 200)]
        referrals: u32,
        /// Years back the history starts
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Seed: the same seed makes the same history
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Import a tracker spreadsheet (CSV or XLSX): every row is checked and
    /// its problems listed; only a file with none is imported, all at once
    Import {
        /// The .csv or .xlsx file (the first sheet is read)
        file: std::path::PathBuf,
        /// The administrator the import is recorded against (their e-mail)
        #[arg(long = "as")]
        as_user: String,
        /// Check every row and list the problems; import nothing
        #[arg(long)]
        dry_run: bool,
        /// Read a field from a column with another header, like
        /// --map "date_of_birth=DOB (dd/mm/yyyy)" (repeat for several)
        #[arg(long = "map")]
        map: Vec<String>,
    },
    /// Finance: the committed-cost summary
    Finance {
        #[command(subcommand)]
        command: FinanceCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum FinanceCommand {
    /// Recompute the committed-cost summary from every agreement; list and
    /// correct any difference (exit 1 when there was one, 0 when it matched)
    Rebuild,
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Print the date N working days after DATE (N negative: before), as YYYY-MM-DD
    Shift {
        /// A date like 2027-03-09
        date: String,
        /// Working days to move (negative: back)
        #[arg(allow_negative_numbers = true)]
        n: i32,
        #[arg(long, default_value = "england-and-wales")]
        region: String,
    },
    /// Print a meeting's deadlines as JSON
    Deadlines {
        /// The meeting's date, like 2027-03-09
        #[arg(long)]
        meeting: String,
        /// The panel whose rules and region apply (default: the seed's Joint Funding Panel rules)
        #[arg(long)]
        panel: Option<String>,
    },
    /// Load an official bank holiday list (GOV.UK's bank-holidays.json, or a CSV
    /// with the header date,title or region,date,title); it replaces the rules
    /// for the years it covers
    Load {
        file: PathBuf,
        /// The region of a date,title CSV
        #[arg(long, default_value = "england-and-wales")]
        region: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Exit 0 when the chain is intact; otherwise name the first broken entry and exit 1
    Verify,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "JOINTPANEL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Load demo data when the database is empty
    #[arg(long)]
    pub demo: bool,
    /// Mark cookies Secure (when served over TLS, directly or behind a proxy)
    #[arg(long, env = "JOINTPANEL_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Failed sign-ins before an account is locked
    #[arg(long, env = "JOINTPANEL_LOCKOUT_ATTEMPTS", default_value_t = 5)]
    pub lockout_attempts: i64,
    /// How long a locked account stays locked
    #[arg(long, env = "JOINTPANEL_LOCKOUT_MINUTES", default_value_t = 15)]
    pub lockout_minutes: i64,
    /// Largest evidence file accepted, in MiB
    #[arg(long, env = "JOINTPANEL_MAX_UPLOAD_MIB", default_value_t = 20)]
    pub max_upload_mib: u64,
    /// SMTP server for e-mail: smtp://host:25, smtp://user:pass@host:587?tls=required, smtps://host:465
    #[arg(long, env = "JOINTPANEL_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of e-mails
    #[arg(
        long,
        env = "JOINTPANEL_MAIL_FROM",
        default_value = "Joint Panel <jointpanel@localhost>"
    )]
    pub mail_from: String,
    /// Keep attachments in an S3-compatible bucket: s3://bucket[/prefix] (endpoint and keys from AWS_* variables)
    #[arg(long, env = "JOINTPANEL_ATTACHMENTS_URL")]
    pub attachments_url: Option<String>,
    /// The address people reach the service at, for links in e-mails (default: http://BIND)
    #[arg(long, env = "JOINTPANEL_BASE_URL")]
    pub base_url: Option<String>,
}

pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("jointpanel: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn open(g: &Global) -> anyhow::Result<Store> {
    let url = g.database_url();
    let store = Store::open(&url)
        .with_context(|| format!("cannot open the database {}", jp_store::redact(&url)))?;
    let applied = migrate::run(&mut store.conn()?).context("cannot apply the migrations")?;
    if !applied.is_empty() {
        tracing::info!("applied migrations {applied:?} to {}", store.display_url());
    }
    Ok(store)
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = cli.global;
    match cli.command.unwrap_or(Command::Serve(ServeArgs {
        demo: true,
        ..parse_serve_defaults()
    })) {
        Command::Serve(args) => serve(&g, args),
        Command::Migrate => {
            let store = open(&g)?;
            println!(
                "The database {} is at migration {}.",
                store.display_url(),
                migrate::latest()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::History {
            children,
            referrals,
            years,
            seed,
        } => {
            let store = open(&g)?;
            let plan = jp_store::history::Plan {
                children,
                referrals,
                years,
                seed,
            };
            let made = load_history(&mut store.conn()?, &plan)?;
            println!(
                "Added {} meetings, {} children, {} referrals and {} agreements.",
                made.meetings, made.children, made.referrals, made.agreements
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            file,
            as_user,
            dry_run,
            map,
        } => import(&g, &file, &as_user, dry_run, &map),
        Command::Demo => {
            let store = open(&g)?;
            match demo::load(&mut store.conn()?)? {
                demo::Outcome::Loaded => {
                    load_history(&mut store.conn()?, &demo::DEMO_HISTORY)?;
                    print_demo_sign_ins();
                }
                demo::Outcome::AlreadyPopulated => println!(
                    "The database already has accounts in it: the demo data was not loaded."
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateUser {
            email,
            name,
            role,
            agency,
        } => create_user(&g, &email, &name, &role, agency.as_deref()),
        Command::CreateToken { email, label } => {
            let store = open(&g)?;
            let email = Email::parse(&email)?;
            let mut c = store.conn()?;
            let Some(user) = accounts::find_by_email(&mut c, &email)? else {
                bail!("there is no account for {email}")
            };
            let mut tx = c.begin()?;
            let token =
                accounts::create_token(&mut tx, &Actor::system("command line"), user.id, &label)?;
            tx.commit()?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar { command } => calendar(&g, command),
        Command::Finance {
            command: FinanceCommand::Rebuild,
        } => finance_rebuild(&g),
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let store = open(&g)?;
            match audit::verify(&mut store.conn()?)? {
                Verdict::Intact { entries } => {
                    println!("The audit chain is intact: {entries} entries.");
                    Ok(ExitCode::SUCCESS)
                }
                Verdict::Broken { seq, problem } => {
                    println!("The audit chain is broken at entry {seq}: {problem}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn bar(len: u64, what: &str, message: &'static str) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{eta}} left)"
        ))?
        .progress_chars("=> "),
    );
    bar.set_message(message);
    Ok(bar)
}

fn import(
    g: &Global,
    file: &std::path::Path,
    as_user: &str,
    dry_run: bool,
    map: &[String],
) -> anyhow::Result<ExitCode> {
    use jp_store::import;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let table = match jp_exports::read::table(&name, &bytes) {
        Ok(t) => t,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let (mut mapping, mut problems, unused) = import::detect(&table.headers);
    for m in map {
        let Some((key, header)) = m.split_once('=') else {
            println!("--map {m}: write it as FIELD=HEADER, like date_of_birth=DOB");
            return Ok(ExitCode::from(2));
        };
        let Some(field) = import::FIELDS.iter().find(|f| f.key == key.trim()) else {
            println!(
                "--map {m}: there is no field “{key}”; the fields are {}",
                import::FIELDS
                    .iter()
                    .map(|f| f.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return Ok(ExitCode::from(2));
        };
        let Some(i) = table.headers.iter().position(|h| h == header.trim()) else {
            println!("--map {m}: the file has no column headed “{header}”");
            return Ok(ExitCode::from(2));
        };
        mapping.insert(field.key.to_owned(), i);
        problems = import::missing(&mapping);
    }
    if !problems.is_empty() {
        for p in &problems {
            println!("{p}");
        }
        return Ok(ExitCode::from(1));
    }
    if !unused.is_empty() {
        println!("Not imported (no field reads them): {}", unused.join(", "));
    }
    let store = open(g)?;
    let mut conn = store.conn()?;
    let email =
        jp_domain::Email::parse(as_user).map_err(|e| anyhow::anyhow!("--as {as_user}: {e}"))?;
    let Some(user) = jp_store::accounts::find_by_email(&mut conn, &email)?
        .filter(|u| u.active && u.has(jp_domain::Role::Administrator))
    else {
        println!("{as_user} is not an active administrator: imports are made by one");
        return Ok(ExitCode::from(2));
    };
    let today = jp_store::db::now().date();
    let b = bar(table.rows.len() as u64, "rows", "Checking")?;
    let checked = import::check(&mut conn, &table.rows, &mapping, today, &mut |d, _| {
        b.set_position(d);
    })?;
    b.finish_and_clear();
    if !checked.problems.is_empty() {
        let rows: std::collections::BTreeSet<usize> =
            checked.problems.iter().map(|p| p.row).collect();
        println!(
            "{} problem(s) on {} of {} rows; nothing was imported:",
            checked.problems.len(),
            rows.len(),
            table.rows.len()
        );
        for p in &checked.problems {
            println!("  row {}, {}: {}", p.row, p.column, p.message);
        }
        return Ok(ExitCode::from(1));
    }
    println!(
        "All {} rows are ready: {} new children, {} agreements.",
        checked.ready.len(),
        checked.new_children,
        checked.agreements
    );
    if dry_run {
        println!("Dry run: nothing was imported.");
        return Ok(ExitCode::SUCCESS);
    }
    let sha = import::sha256_of(&bytes);
    let actor = jp_store::Actor::user(
        user.id,
        format!("{} <{}> (command line)", user.name, user.email),
    );
    let b = bar(checked.ready.len() as u64, "rows", "Importing")?;
    let mut tx = conn.begin()?;
    let made = import::apply(
        &mut tx,
        &actor,
        (&name, &sha),
        &checked.ready,
        today,
        &mut |d, _| {
            b.set_position(d);
        },
    )?;
    tx.commit()?;
    b.finish_and_clear();
    println!(
        "Imported {} rows: {} children, {} referrals, {} meetings and {} agreements added.",
        made.rows, made.children, made.referrals, made.meetings, made.agreements
    );
    Ok(ExitCode::SUCCESS)
}

/// Generates a history with a progress bar.
fn load_history(
    conn: &mut jp_store::db::Conn,
    plan: &jp_store::history::Plan,
) -> anyhow::Result<jp_store::history::Made> {
    let bar = indicatif::ProgressBar::new(u64::from(plan.referrals));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} referrals ({eta} left)",
        )?
        .progress_chars("=> "),
    );
    bar.set_message("Generating the case history");
    let made = demo::load_history(conn, plan, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(made)
}

fn finance_rebuild(g: &Global) -> anyhow::Result<ExitCode> {
    let store = open(g)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} agreements ({eta} left)",
        )?
        .progress_chars("=> "),
    );
    bar.set_message("Rebuilding the committed-cost summary");
    let differences = jp_store::finance::rebuild(&mut store.conn()?, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let agreements = bar.length().unwrap_or(0);
    if differences.is_empty() {
        println!("Checked {agreements} agreements: the summary matched them.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Checked {agreements} agreements: {} row(s) differed and are now corrected:",
        differences.len()
    );
    let pence = |p: Option<i64>| p.map_or("none".to_owned(), |p| jp_domain::Pence(p).to_string());
    for d in differences.iter().take(50) {
        println!(
            "  agreement {} organisation {} {}-{:02}: stored {}, from the agreement {}",
            d.agreement_id,
            d.organisation_id,
            d.year,
            d.month,
            pence(d.stored_pence),
            pence(d.expected_pence)
        );
    }
    if differences.len() > 50 {
        println!("  … and {} more", differences.len() - 50);
    }
    Ok(ExitCode::from(1))
}

/// The serve defaults as clap would fill them from the environment.
fn parse_serve_defaults() -> ServeArgs {
    #[derive(Parser)]
    struct Only {
        #[command(flatten)]
        serve: ServeArgs,
    }
    Only::try_parse_from(["jointpanel"])
        .map(|o| o.serve)
        .unwrap_or_default()
}

fn print_demo_sign_ins() {
    println!(
        "Demo sign-ins (password for each: {}):",
        demo::DEMO_PASSWORD
    );
    for (role, name, email) in demo::DEMO_USERS {
        println!("  {:<28} {:<36} {}", role.label(), email, name);
    }
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("JOINTPANEL_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("Password (at least 12 characters): ");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn create_user(
    g: &Global,
    email: &str,
    name: &str,
    roles: &[String],
    agency: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let name = jp_domain::text::required(name, "a name", 200).map_err(anyhow::Error::msg)?;
    let roles = roles
        .iter()
        .map(|r| {
            Role::parse(r).with_context(|| {
                format!(
                    "unknown role {r:?}: use one of {}",
                    Role::ALL.map(Role::slug).join(", ")
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let password = Password::new(&read_password()?, &[email.local_part(), &name])?;
    let store = open(g)?;
    let mut c = store.conn()?;
    let agency_id = match agency {
        None => None,
        Some(a) => {
            let all = jp_store::reference::agencies::list(&mut c)?;
            let found = all
                .iter()
                .find(|x| x.id.to_string() == a || x.name.eq_ignore_ascii_case(a));
            Some(
                found
                    .with_context(|| format!("there is no agency {a:?}"))?
                    .id,
            )
        }
    };
    let f = UserFields {
        email: email.clone(),
        name,
        agency_id,
        team: None,
        active: true,
        roles,
    };
    let mut tx = c.begin()?;
    let id = accounts::create(
        &mut tx,
        &Actor::system("command line"),
        &f,
        Some(accounts::hash_password(&password)),
    )?;
    tx.commit()?;
    println!("Created account {id} for {email}.");
    Ok(ExitCode::SUCCESS)
}

fn serve(g: &Global, args: ServeArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&g.data_dir)
        .with_context(|| format!("cannot create the data directory {}", g.data_dir.display()))?;
    let store = open(g)?;
    let interrupted = jp_store::import::recover_interrupted(&mut store.conn()?)?;
    if !interrupted.is_empty() {
        tracing::warn!(imports = ?interrupted, "imports stopped by the last shutdown marked failed; nothing of them was kept");
    }
    let mut demo_loaded = false;
    if args.demo {
        demo_loaded = matches!(demo::load(&mut store.conn()?)?, demo::Outcome::Loaded);
        if demo_loaded {
            load_history(&mut store.conn()?, &demo::DEMO_HISTORY)?;
        }
    }
    let mailer = match args.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => {
            Some(jp_web::mail::Mailer::new(url, &args.mail_from).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let files = jp_web::files::FileStore::from_url(args.attachments_url.as_deref())
        .map_err(anyhow::Error::msg)?;
    println!("Attachments: {}", files.describe());
    let config = jp_web::WebConfig {
        files,
        base_url: args
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.bind)),
        smtp_configured: mailer.is_some(),
        secure_cookies: args.secure_cookies,
        lockout: LockoutPolicy {
            max_failures: args.lockout_attempts.max(1),
            lock_for: chrono::Duration::minutes(args.lockout_minutes.max(1)),
        },
        data_dir: g.data_dir.clone(),
        attachments: jp_store::attachments::Limits {
            max_bytes: args.max_upload_mib.max(1) * 1024 * 1024,
            ..jp_store::attachments::Limits::default()
        },
        ..jp_web::WebConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.bind).await.with_context(|| format!("cannot listen on {} (is another program using it? set JOINTPANEL_BIND or --bind)", args.bind))?;
        let addr = listener.local_addr()?;
        println!("Joint Panel is listening on http://{addr}/");
        println!("Database: {}", store.display_url());
        if demo_loaded || (args.demo && store.conn().ok().is_some_and(|mut c| demo_users_present(&mut c))) {
            print_demo_sign_ins();
        }
        match mailer {
            Some(m) => {
                tokio::spawn(m.run(store.clone()));
            }
            None => println!("E-mail: no SMTP server set (JOINTPANEL_SMTP_URL); messages wait in the outbox"),
        }
        let state = jp_web::AppState::new(store, config);
        tokio::spawn(jp_web::jobs::run(state.clone()));
        jp_web::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn demo_users_present(c: &mut jp_store::db::Conn) -> bool {
    demo::DEMO_USERS.iter().all(|(_, _, e)| {
        Email::parse(e)
            .ok()
            .and_then(|e| accounts::find_by_email(c, &e).ok().flatten())
            .is_some()
    })
}

fn parse_date(raw: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .with_context(|| format!("{raw:?} is not a date like 2027-03-09"))
}

fn parse_region(raw: &str) -> anyhow::Result<jp_domain::Region> {
    jp_domain::Region::parse(raw).with_context(|| {
        format!("unknown region {raw:?}: use england-and-wales, scotland or northern-ireland")
    })
}

fn calendar(g: &Global, command: CalendarCommand) -> anyhow::Result<ExitCode> {
    use jp_domain::calendar::{self, Deadlines};
    use jp_store::calendar as stored;
    match command {
        CalendarCommand::Shift { date, n, region } => {
            let (date, region) = (parse_date(&date)?, parse_region(&region)?);
            let store = open(g)?;
            let cal = stored::for_region(&mut store.conn()?, region)?;
            println!("{}", cal.shift(date, n));
        }
        CalendarCommand::Deadlines { meeting, panel } => {
            let meeting = parse_date(&meeting)?;
            let store = open(g)?;
            let mut c = store.conn()?;
            let rules = match panel {
                Some(slug) => {
                    let Some(p) = jp_store::reference::panels::by_slug(&mut c, &slug)? else {
                        bail!("there is no panel {slug:?}")
                    };
                    p.rules
                }
                None => jp_domain::PanelRules::joint_funding_default(),
            };
            let cal = stored::for_region(&mut c, rules.region)?;
            let d = Deadlines::for_meeting(&cal, &rules, meeting);
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "meeting": d.meeting,
                    "region": rules.region.slug(),
                    "submission_deadline": d.submission_deadline,
                    "papers_due": d.papers_due,
                    "letter_due": d.letter_due,
                    "minutes_due": d.minutes_due,
                    "absent_agency_response_due": d.absent_agency_response_due,
                }))?
            );
        }
        CalendarCommand::Load { file, region } => {
            let region = parse_region(&region)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let lists = if text.trim_start().starts_with('{') {
                calendar::parse_govuk_json(&text)
            } else {
                calendar::parse_csv(&text, region)
            }
            .map_err(anyhow::Error::msg)?;
            let store = open(g)?;
            let mut c = store.conn()?;
            let mut tx = c.begin()?;
            let source = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut loaded = Vec::new();
            for (region, days) in &lists {
                let years = stored::load_list(
                    &mut tx,
                    &Actor::system("command line"),
                    *region,
                    days,
                    &source,
                )?;
                loaded.push(format!(
                    "{}: {} days in {:?}",
                    region.label(),
                    days.len(),
                    years
                ));
            }
            tx.commit()?;
            for l in loaded {
                println!("Loaded {l}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
