//! The command line as scripts use it (SPEC §11).

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

use std::process::{Command, Output};

fn jointpanel(url: &str, args: &[&str], password: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jointpanel"));
    c.args(args)
        .env("JOINTPANEL_DATABASE_URL", url)
        .env("JOINTPANEL_LOG", "warn")
        .env_remove("JOINTPANEL_PASSWORD");
    if let Some(p) = password {
        c.env("JOINTPANEL_PASSWORD", p);
    }
    c.output().expect("run jointpanel")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scripted_administration(url: &str, tamper: impl FnOnce()) {
    let o = jointpanel(url, &["migrate"], None);
    assert!(o.status.success(), "{}", text(&o));
    let o = jointpanel(url, &["demo"], None);
    assert!(
        text(&o).contains("sysadmin@northmoor.example"),
        "{}",
        text(&o)
    );

    let o = jointpanel(
        url,
        &[
            "create-user",
            "--email",
            "new.chair@example.org",
            "--name",
            "Rowan Ellery",
            "--role",
            "chair",
            "--role",
            "member",
            "--agency",
            "SEND",
        ],
        Some("slate orchard lantern"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = jointpanel(
        url,
        &[
            "create-user",
            "--email",
            "weak@example.org",
            "--name",
            "Weak Password",
            "--role",
            "chair",
        ],
        Some("password123"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("12 characters"), "{}", text(&o));
    let o = jointpanel(
        url,
        &[
            "create-user",
            "--email",
            "x@example.org",
            "--name",
            "X Person",
            "--role",
            "overlord",
        ],
        Some("slate orchard lantern"),
    );
    assert!(
        !o.status.success() && text(&o).contains("unknown role"),
        "{}",
        text(&o)
    );

    let o = jointpanel(
        url,
        &["create-token", "--email", "new.chair@example.org"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).trim().starts_with("jp_"));

    let o = jointpanel(url, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("intact"));
    tamper();
    let o = jointpanel(url, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("broken at entry 5"), "{}", text(&o));
}

#[test]
fn scripts_can_migrate_create_people_and_tokens_and_verify_the_audit_chain_on_sqlite() {
    let db = jp_store::testing::sqlite();
    let store = db.store.clone();
    scripted_administration(&db.url, move || {
        store
            .conn()
            .unwrap()
            .execute(
                "UPDATE audit_log SET actor = 'someone else' WHERE seq = 5",
                &[],
            )
            .unwrap();
    });
}

#[test]
fn scripts_can_migrate_create_people_and_tokens_and_verify_the_audit_chain_on_postgres() {
    let Some(db) = jp_store::testing::postgres() else {
        return;
    };
    let store = db.store.clone();
    scripted_administration(&db.url, move || {
        store
            .conn()
            .unwrap()
            .execute(
                "UPDATE audit_log SET actor = 'someone else' WHERE seq = 5",
                &[],
            )
            .unwrap();
    });
}
