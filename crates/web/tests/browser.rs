//! Real Chromium (Debian's) driven by playwright-core, with axe-core: signs in
//! as each role, visits every page reachable from the navigation, checks
//! accessibility, keyboard-only sign-in and sign-in with JavaScript off.
//! Screenshots go to tests/browser/artifacts/. Under CI=true a missing
//! Chromium or Node harness is a failure, never a skip.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use common::smtp::SmtpSink;
use jp_store::demo;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_role_can_sign_in_and_use_every_page_in_chromium_with_no_serious_accessibility_problems() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let harness = root.join("tests/browser");
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ci = jp_store::testing::in_ci();
    for (what, ok) in [
        ("Chromium", PathBuf::from(&chromium).exists()),
        (
            "the Node harness (npm ci in tests/browser)",
            harness.join("node_modules/playwright-core").exists(),
        ),
        (
            "node",
            Command::new("node").arg("--version").output().is_ok(),
        ),
    ] {
        if !ok {
            assert!(!ci, "CI=true but {what} is missing: .ci/run installs it");
            eprintln!(
                "SKIPPED: {what} is not installed (run .ci/run or see tests/browser/README.md)"
            );
            return;
        }
    }
    let db = jp_store::testing::sqlite();
    demo::load(&mut db.store.conn().unwrap()).unwrap();
    demo::load_history(
        &mut db.store.conn().unwrap(),
        &demo::DEMO_HISTORY,
        &mut |_, _| {},
    )
    .unwrap();
    let state = jp_web::AppState::new(db.store.clone(), jp_web::WebConfig::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The background jobs run as in `jointpanel serve`: the walk waits for the paper pack.
    let jobs = rt.spawn(jp_web::jobs::run(state.clone()));
    // E-mail goes through real SMTP to a local server: the decision letter is checked there.
    let sink = SmtpSink::start();
    let mailer =
        jp_web::mail::Mailer::new(&sink.url(), "Joint Panel <panel@northmoor.example>").unwrap();
    let mail = rt.spawn(mailer.run(db.store.clone()));
    let server = rt.spawn(jp_web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let users: Vec<serde_json::Value> = demo::DEMO_USERS
        .iter()
        .map(|(role, name, email)| serde_json::json!({"role": role.slug(), "name": name, "email": email, "password": demo::DEMO_PASSWORD}))
        .collect();
    let artifacts = harness.join("artifacts");
    let out = Command::new("node")
        .arg(harness.join("run.mjs"))
        .env("BASE_URL", format!("http://{addr}"))
        .env("USERS_JSON", serde_json::to_string(&users).unwrap())
        .env("ARTIFACTS_DIR", &artifacts)
        .env("CHROMIUM_PATH", &chromium)
        // The walk takes about four minutes on a quiet two-core machine.
        .env("BROWSER_TIMEOUT_MS", "600000")
        .output()
        .expect("run node");
    let _ = stop.send(());
    let _ = rt.block_on(server);
    // The letter the walk sent reaches the SMTP server with its PDF (the
    // worker polls every few seconds).
    let mut letter = None;
    for _ in 0..40 {
        letter = sink.messages().into_iter().find(|m| {
            m.to.iter()
                .any(|t| t.contains("referrer@northmoor.example"))
                && m.data.contains("Panel decision: referral")
        });
        if letter.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    jobs.abort();
    mail.abort();
    drop(rt);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "browser checks failed (screenshots and report.json in {}):\n{stdout}",
        artifacts.display()
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let letter = letter.expect("the decision letter reached the SMTP server");
    assert!(
        letter.data.contains("application/pdf")
            && letter.data.contains("decision-letter-referral-"),
        "the letter carries the PDF: {}",
        &letter.data[..letter.data.len().min(2_000)]
    );
}
