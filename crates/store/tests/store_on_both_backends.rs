//! The store's behaviour, run once on SQLite and once on PostgreSQL.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

use chrono::Duration;
use jp_domain::session::{LockoutPolicy, SessionLimits};
use jp_domain::{Email, Password, Role};
use jp_store::accounts::{self, UserFields};
use jp_store::audit::{self, Verdict};
use jp_store::db::{self, Conn};
use jp_store::reference::{agencies, members, organisations, panels};
use jp_store::sessions::{self, Lookup};
use jp_store::{Actor, ChangeError, demo, migrate, on_both_backends, params};

fn admin() -> Actor {
    Actor::system("test")
}

fn conn(db: &jp_store::testing::TestDb) -> Conn {
    db.store.conn().expect("connection")
}

fn add_org(c: &mut Conn, name: &str) -> i64 {
    let mut tx = c.begin().unwrap();
    let id = organisations::create(
        &mut tx,
        &admin(),
        &organisations::Fields {
            name: name.into(),
            kind: "nhs".into(),
        },
    )
    .unwrap();
    tx.commit().unwrap();
    id
}

on_both_backends! {
    fn migrations_apply_once_and_are_recorded(db) {
        let mut c = conn(db);
        assert_eq!(migrate::run(&mut c).unwrap(), Vec::<i64>::new(), "a second run applies nothing");
        assert_eq!(migrate::applied(&mut c).unwrap().last().copied(), Some(migrate::latest()));
    }
}

on_both_backends! {
    fn the_demo_loads_into_an_empty_database_only(db) {
        let mut c = conn(db);
        assert!(matches!(demo::load(&mut c).unwrap(), demo::Outcome::Loaded));
        assert!(matches!(demo::load(&mut c).unwrap(), demo::Outcome::AlreadyPopulated));
        assert_eq!(panels::list(&mut c).unwrap().len(), 2);
        let jfp = panels::by_slug(&mut c, "joint-funding").unwrap().unwrap();
        assert_eq!(jfp.rules.submission_deadline_days, 7);
        let m = members::of_panel(&mut c, jfp.id).unwrap();
        assert_eq!(m.iter().filter(|m| m.is_chair).count(), 1, "one chair");
        assert!(m.iter().any(|m| !m.deputies.is_empty()), "deputies are kept");
        for (role, _, email) in demo::DEMO_USERS {
            let u = accounts::find_by_email(&mut c, &Email::parse(email).unwrap()).unwrap().unwrap();
            assert!(u.has(role));
        }
        assert_eq!(audit::verify(&mut c).unwrap(), Verdict::Intact { entries: audit::list(&mut c, &Default::default(), 100_000).unwrap().len() as i64 });
    }
}

on_both_backends! {
    fn a_second_save_of_the_same_version_is_refused_and_loses_nothing(db) {
        let mut c = conn(db);
        let id = add_org(&mut c, "Dale Hospitals Trust");
        let mut tx = c.begin().unwrap();
        organisations::update(&mut tx, &admin(), id, 1, &organisations::Fields { name: "Dale Hospitals NHS Trust".into(), kind: "nhs".into() }).unwrap();
        tx.commit().unwrap();
        let mut tx = c.begin().unwrap();
        let second = organisations::update(&mut tx, &admin(), id, 1, &organisations::Fields { name: "Something else".into(), kind: "other".into() });
        assert!(matches!(second, Err(ChangeError::Conflict { current: 2 })), "{second:?}");
        drop(tx);
        let now = organisations::get(&mut c, id).unwrap().unwrap();
        assert_eq!((now.name.as_str(), now.version), ("Dale Hospitals NHS Trust", 2));
        let missing = { let mut tx = c.begin().unwrap(); organisations::update(&mut tx, &admin(), 9999, 1, &organisations::Fields { name: "x".into(), kind: "nhs".into() }) };
        assert!(matches!(missing, Err(ChangeError::NotFound)));
    }
}

on_both_backends! {
    fn duplicate_names_are_refused_with_a_message(db) {
        let mut c = conn(db);
        add_org(&mut c, "Dale Hospitals Trust");
        let mut tx = c.begin().unwrap();
        let again = organisations::create(&mut tx, &admin(), &organisations::Fields { name: "Dale Hospitals Trust".into(), kind: "nhs".into() });
        match again {
            Err(ChangeError::Duplicate(m)) => assert!(m.contains("already an organisation called Dale Hospitals Trust")),
            other => panic!("{other:?}"),
        }
    }
}

on_both_backends! {
    fn a_failed_change_leaves_no_audit_row(db) {
        let mut c = conn(db);
        let before = audit::list(&mut c, &Default::default(), 1000).unwrap().len();
        {
            let mut tx = c.begin().unwrap();
            organisations::create(&mut tx, &admin(), &organisations::Fields { name: "Rolled back".into(), kind: "nhs".into() }).unwrap();
            // dropped without commit
        }
        assert_eq!(audit::list(&mut c, &Default::default(), 1000).unwrap().len(), before);
        assert!(organisations::list(&mut c).unwrap().iter().all(|o| o.name != "Rolled back"));
        assert!(matches!(audit::verify(&mut c).unwrap(), Verdict::Intact { .. }));
    }
}

fn three_entries(c: &mut Conn) {
    let org = add_org(c, "First");
    let mut tx = c.begin().unwrap();
    agencies::create(
        &mut tx,
        &admin(),
        &agencies::Fields {
            organisation_id: org,
            name: "Second".into(),
            adult_services: false,
        },
    )
    .unwrap();
    agencies::create(
        &mut tx,
        &admin(),
        &agencies::Fields {
            organisation_id: org,
            name: "Third".into(),
            adult_services: false,
        },
    )
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(audit::verify(c).unwrap(), Verdict::Intact { entries: 3 });
}

fn broken_at(c: &mut Conn) -> (i64, String) {
    match audit::verify(c).unwrap() {
        Verdict::Broken { seq, problem } => (seq, problem),
        Verdict::Intact { .. } => panic!("tampering went unnoticed"),
    }
}

on_both_backends! {
    fn an_edited_audit_entry_is_named(db) {
        let mut c = conn(db);
        three_entries(&mut c);
        c.execute("UPDATE audit_log SET details = '{\"name\":\"Forged\"}' WHERE seq = 2", &[]).unwrap();
        let (seq, problem) = broken_at(&mut c);
        assert_eq!(seq, 2);
        assert!(problem.contains("edited"), "{problem}");
    }
}

on_both_backends! {
    fn a_deleted_audit_entry_is_named(db) {
        let mut c = conn(db);
        three_entries(&mut c);
        c.execute("DELETE FROM audit_log WHERE seq = 2", &[]).unwrap();
        let (seq, problem) = broken_at(&mut c);
        assert_eq!(seq, 2);
        assert!(problem.contains("missing"), "{problem}");
    }
}

on_both_backends! {
    fn reordered_audit_entries_are_named(db) {
        let mut c = conn(db);
        three_entries(&mut c);
        c.execute("UPDATE audit_log SET seq = 100 WHERE seq = 2", &[]).unwrap();
        c.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3", &[]).unwrap();
        c.execute("UPDATE audit_log SET seq = 3 WHERE seq = 100", &[]).unwrap();
        let (seq, problem) = broken_at(&mut c);
        assert_eq!(seq, 2);
        assert!(problem.contains("does not follow"), "{problem}");
    }
}

on_both_backends! {
    fn deleting_the_newest_audit_entries_is_noticed(db) {
        let mut c = conn(db);
        three_entries(&mut c);
        c.execute("DELETE FROM audit_log WHERE seq = 3", &[]).unwrap();
        let (seq, problem) = broken_at(&mut c);
        assert_eq!(seq, 3);
        assert!(problem.contains("deleted"), "{problem}");
    }
}

on_both_backends! {
    fn an_entry_rewritten_with_a_fresh_hash_breaks_the_link_to_the_next(db) {
        let mut c = conn(db);
        three_entries(&mut c);
        let mut e = audit::list(&mut c, &audit::Filter { before: Some(3), ..Default::default() }, 1).unwrap().remove(0);
        assert_eq!(e.seq, 2);
        e.details = "{\"name\":\"Forged\"}".into();
        e.hash = audit::entry_hash(&e);
        c.execute("UPDATE audit_log SET details = $1, hash = $2 WHERE seq = 2", &params![e.details, e.hash]).unwrap();
        let (seq, _) = broken_at(&mut c);
        assert_eq!(seq, 3);
    }
}

fn someone(c: &mut Conn, email: &str, roles: Vec<Role>) -> i64 {
    let pw = Password::new("violet kettle harbour", &[]).unwrap();
    let mut tx = c.begin().unwrap();
    let f = UserFields {
        email: Email::parse(email).unwrap(),
        name: "Test Person".into(),
        agency_id: None,
        team: None,
        active: true,
        roles,
    };
    let id = accounts::create(&mut tx, &admin(), &f, Some(accounts::hash_password(&pw))).unwrap();
    tx.commit().unwrap();
    id
}

on_both_backends! {
    fn sessions_expire_when_idle_or_old(db) {
        let mut c = conn(db);
        let id = someone(&mut c, "a.person@example.org", vec![Role::Referrer]);
        let mut tx = c.begin().unwrap();
        let token = sessions::create(&mut tx, id).unwrap();
        tx.commit().unwrap();
        let limits = SessionLimits::default();
        let now = db::now();
        assert!(matches!(sessions::load(&mut c, &token, &limits, now).unwrap(), Lookup::Live(s) if s.user.id == id));
        sessions::backdate(&mut c, &token, now - Duration::minutes(40), now - Duration::minutes(31)).unwrap();
        assert!(matches!(sessions::load(&mut c, &token, &limits, now).unwrap(), Lookup::Expired));
        assert!(matches!(sessions::load(&mut c, &token, &limits, now).unwrap(), Lookup::Unknown), "an expired session is removed");
        assert!(matches!(sessions::load(&mut c, "not-a-token", &limits, now).unwrap(), Lookup::Unknown));
    }
}

on_both_backends! {
    fn repeated_failures_lock_the_account_and_are_audited(db) {
        let mut c = conn(db);
        let id = someone(&mut c, "b.person@example.org", vec![Role::Chair]);
        let policy = LockoutPolicy { max_failures: 3, lock_for: Duration::minutes(15) };
        let email = Email::parse("b.person@example.org").unwrap();
        let mut locked = false;
        for _ in 0..3 {
            let (u, _, failures) = accounts::find_for_sign_in(&mut c, &email).unwrap().unwrap();
            let mut tx = c.begin().unwrap();
            locked = accounts::record_failed_sign_in(&mut tx, &u, failures, &policy, db::now()).unwrap();
            tx.commit().unwrap();
        }
        assert!(locked);
        assert!(accounts::get(&mut c, id).unwrap().unwrap().locked_until.is_some());
        let f = audit::Filter { action: Some("user.locked".into()), ..Default::default() };
        assert_eq!(audit::list(&mut c, &f, 10).unwrap().len(), 1);
    }
}

on_both_backends! {
    fn api_tokens_are_stored_hashed_and_can_be_revoked(db) {
        let mut c = conn(db);
        let id = someone(&mut c, "c.person@example.org", vec![Role::Auditor]);
        let mut tx = c.begin().unwrap();
        let token = accounts::create_token(&mut tx, &admin(), id, "nightly export").unwrap();
        tx.commit().unwrap();
        let stored: String = c.query_one("SELECT token_hash FROM api_tokens", &[]).unwrap().get(0).unwrap();
        assert_ne!(stored, token);
        assert_eq!(accounts::user_for_token(&mut c, &token).unwrap().map(|u| u.id), Some(id));
        let token_id = accounts::tokens_of(&mut c, id).unwrap()[0].id;
        let mut tx = c.begin().unwrap();
        accounts::revoke_token(&mut tx, &admin(), id, token_id).unwrap();
        tx.commit().unwrap();
        assert!(accounts::user_for_token(&mut c, &token).unwrap().is_none());
    }
}

on_both_backends! {
    fn one_chair_per_panel(db) {
        let mut c = conn(db);
        demo::load(&mut c).unwrap();
        let jfp = panels::by_slug(&mut c, "joint-funding").unwrap().unwrap();
        let ms = members::of_panel(&mut c, jfp.id).unwrap();
        let other = ms.iter().find(|m| !m.is_chair).unwrap().clone();
        let mut tx = c.begin().unwrap();
        members::update(&mut tx, &admin(), other.id, other.version, &members::Fields { user_id: other.user_id, agency_id: other.agency_id, is_chair: true, deputy_user_ids: vec![] }).unwrap();
        tx.commit().unwrap();
        let ms = members::of_panel(&mut c, jfp.id).unwrap();
        assert_eq!(ms.iter().filter(|m| m.is_chair).map(|m| m.id).collect::<Vec<_>>(), vec![other.id]);
    }
}

on_both_backends! {
    fn a_loaded_bank_holiday_list_replaces_its_years_and_closures_count(db) {
        use jp_domain::calendar::Holiday;
        use jp_domain::Region;
        use jp_store::calendar;
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let mut c = conn(db);
        let before = calendar::for_region(&mut c, Region::Scotland).unwrap();
        assert!(!before.is_working_day(d(2031, 1, 2)));
        // A 2031 list that (hypothetically) drops 2 January and adds a one-off day.
        let list = vec![
            Holiday { date: d(2031, 1, 1), title: "New Year’s Day".into() },
            Holiday { date: d(2031, 6, 13), title: "A one-off day".into() },
        ];
        let mut tx = c.begin().unwrap();
        assert_eq!(calendar::load_list(&mut tx, &admin(), Region::Scotland, &list, "test.json").unwrap(), vec![2031]);
        tx.commit().unwrap();
        let cal = calendar::for_region(&mut c, Region::Scotland).unwrap();
        assert!(cal.is_working_day(d(2031, 1, 2)));
        assert!(!cal.is_working_day(d(2031, 6, 13)));
        assert!(!cal.is_working_day(d(2030, 1, 2)), "other years keep the rules");
        assert!(calendar::for_region(&mut c, Region::EnglandAndWales).unwrap().is_working_day(d(2031, 6, 13)));
        let lists = calendar::loaded_lists(&mut c).unwrap();
        assert_eq!((lists.len(), lists[0].days, lists[0].year), (1, 2, 2031));

        // Loading the same year again replaces it, not adds to it.
        let mut tx = c.begin().unwrap();
        calendar::load_list(&mut tx, &admin(), Region::Scotland, &list[..1], "again.csv").unwrap();
        tx.commit().unwrap();
        assert!(calendar::for_region(&mut c, Region::Scotland).unwrap().is_working_day(d(2031, 6, 13)));

        // A list naming a day twice is refused whole.
        let twice = vec![list[1].clone(), list[1].clone()];
        let mut tx = c.begin().unwrap();
        assert!(matches!(calendar::load_list(&mut tx, &admin(), Region::Scotland, &twice, "bad.csv"), Err(ChangeError::Invalid(_))));
        drop(tx);
        assert_eq!(calendar::loaded_lists(&mut c).unwrap()[0].source, "again.csv");

        let mut tx = c.begin().unwrap();
        let id = calendar::add_closure(&mut tx, &admin(), d(2031, 12, 29), "Offices closed between Christmas and New Year").unwrap();
        tx.commit().unwrap();
        let mut tx = c.begin().unwrap();
        assert!(matches!(calendar::add_closure(&mut tx, &admin(), d(2031, 12, 29), "again"), Err(ChangeError::Duplicate(_))));
        drop(tx);
        let cal = calendar::for_region(&mut c, Region::EnglandAndWales).unwrap();
        assert!(!cal.is_working_day(d(2031, 12, 29)));
        let mut tx = c.begin().unwrap();
        calendar::remove_closure(&mut tx, &admin(), id).unwrap();
        calendar::unload_year(&mut tx, &admin(), Region::Scotland, 2031).unwrap();
        tx.commit().unwrap();
        let cal = calendar::for_region(&mut c, Region::Scotland).unwrap();
        assert!(!cal.is_working_day(d(2031, 1, 2)) && cal.is_working_day(d(2031, 12, 29)));
        let actions: Vec<String> = audit::list(&mut c, &Default::default(), 1000).unwrap().into_iter().map(|e| e.action).collect();
        for a in ["calendar.list-loaded", "calendar.closure-added", "calendar.closure-removed", "calendar.list-removed"] {
            assert!(actions.iter().any(|x| x == a), "{a} audited");
        }
        assert!(matches!(audit::verify(&mut c).unwrap(), Verdict::Intact { .. }));
    }
}

on_both_backends! {
    fn two_workers_claiming_together_never_take_the_same_message(db) {
        use jp_store::outbox::{self, NewMail};
        let mut c = conn(db);
        let mut tx = c.begin().unwrap();
        for i in 0..40 {
            outbox::enqueue(&mut tx, &NewMail {
                kind: "test".into(),
                to_address: format!("person{i}@example.org"),
                to_name: format!("Person {i}"),
                subject: "Hello".into(),
                body: "Body".into(),
                entity: None,
                entity_id: None,
                attachment_id: None,
            }).unwrap();
        }
        tx.commit().unwrap();
        // A queued message in a rolled-back change is never seen.
        {
            let mut tx = c.begin().unwrap();
            outbox::enqueue(&mut tx, &NewMail { kind: "test".into(), to_address: "ghost@example.org".into(), to_name: "Ghost".into(), subject: "x".into(), body: "x".into(), entity: None, entity_id: None, attachment_id: None }).unwrap();
        }
        let claims: Vec<Vec<i64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|w| {
                    let store = db.store.clone();
                    s.spawn(move || {
                        let mut c = store.conn().unwrap();
                        let mut mine = Vec::new();
                        loop {
                            let got = outbox::claim(&mut c, &format!("worker-{w}"), chrono::Duration::minutes(2), 3).unwrap();
                            if got.is_empty() { break; }
                            mine.extend(got.into_iter().map(|m| m.id));
                        }
                        mine
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: std::collections::BTreeSet<i64> = claims.iter().flatten().copied().collect();
        assert_eq!(all.len(), 40, "every message claimed once: {claims:?}");
        assert_eq!(claims[0].len() + claims[1].len(), 40, "none claimed twice");
        // A lapsed lease lets another worker take the message over; the first can no longer mark it.
        let id = claims.iter().flatten().next().copied().unwrap();
        let holder = if claims[0].contains(&id) { "worker-0" } else { "worker-1" };
        c.execute("UPDATE outbox SET lease_until = $1 WHERE id = $2", &params![chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap(), id]).unwrap();
        let retaken = outbox::claim(&mut c, "worker-2", chrono::Duration::minutes(2), 10).unwrap();
        assert_eq!(retaken.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
        assert!(!outbox::mark_sent(&mut c, id, holder).unwrap());
        assert!(outbox::mark_sent(&mut c, id, "worker-2").unwrap());
    }
}

on_both_backends! {
    fn meetings_are_added_changed_and_cancelled_by_their_rules(db) {
        use jp_domain::meeting_lifecycle::{MeetingAction, MeetingStatus};
        use jp_store::meetings::{self, Details};
        let mut c = conn(db);
        demo::load(&mut c).unwrap();
        let panel = jp_store::reference::panels::list(&mut c).unwrap()[0].clone();
        let day = chrono::NaiveDate::from_ymd_opt(2031, 3, 20).unwrap();
        let details = Details { start_time: "13:30".into(), venue: "Room 4, County Hall".into(), online_link: String::new() };
        let mut tx = c.begin().unwrap();
        let id = meetings::create_ad_hoc(&mut tx, &admin(), panel.id, day, &details).unwrap();
        tx.commit().unwrap();
        let m = meetings::get(&mut c, id).unwrap().unwrap();
        assert_eq!((m.kind.as_str(), m.status(), m.start_time.as_str()), ("ad-hoc", MeetingStatus::Scheduled, "13:30"));

        // A stale edit is refused; nothing changes.
        let mut tx = c.begin().unwrap();
        let newer = Details { online_link: "https://meet.example.org/jfp".into(), ..details.clone() };
        meetings::update_details(&mut tx, &admin(), id, m.version, &newer).unwrap();
        tx.commit().unwrap();
        let mut tx = c.begin().unwrap();
        assert!(matches!(meetings::update_details(&mut tx, &admin(), id, m.version, &details), Err(ChangeError::Conflict { .. })));
        drop(tx);
        assert_eq!(meetings::get(&mut c, id).unwrap().unwrap().online_link, "https://meet.example.org/jfp");

        // Illegal moves are refused with words; cancelling works before the agenda is approved.
        let v = meetings::get(&mut c, id).unwrap().unwrap().version;
        let mut tx = c.begin().unwrap();
        match meetings::apply(&mut tx, &admin(), id, v, MeetingAction::Close) {
            Err(ChangeError::Invalid(m)) => assert!(m.contains("cannot close the meeting"), "{m}"),
            other => panic!("{other:?}"),
        }
        drop(tx);
        let mut tx = c.begin().unwrap();
        let m = meetings::apply(&mut tx, &admin(), id, v, MeetingAction::Cancel).unwrap();
        tx.commit().unwrap();
        assert_eq!(m.status(), MeetingStatus::Cancelled);

        // A cancelled cadence date is not scheduled again.
        let mut tx = c.begin().unwrap();
        meetings::ensure_scheduled(&mut tx, &admin(), &panel, day, 2).unwrap();
        tx.commit().unwrap();
        let first = meetings::list(&mut c, Some(panel.id), day, 10).unwrap().into_iter().find(|m| m.kind == "scheduled").unwrap();
        let mut tx = c.begin().unwrap();
        meetings::apply(&mut tx, &admin(), first.id, first.version, MeetingAction::Cancel).unwrap();
        tx.commit().unwrap();
        let mut tx = c.begin().unwrap();
        assert_eq!(meetings::ensure_scheduled(&mut tx, &admin(), &panel, day, 2).unwrap(), 0);
        tx.commit().unwrap();
        assert!(meetings::upcoming(&mut c, panel.id, day).unwrap().iter().all(|m| m.id != first.id));
        assert!(matches!(audit::verify(&mut c).unwrap(), Verdict::Intact { .. }));
    }
}

on_both_backends! {
    fn an_import_stopped_by_a_restart_is_marked_failed_unless_still_running(db) {
        use jp_store::import;
        let mut c = conn(db);
        demo::load(&mut c).unwrap();
        let by: i64 = c
            .query_one("SELECT id FROM users WHERE email = 'administrator@northmoor.example'", &[])
            .unwrap()
            .get(0)
            .unwrap();
        let start = |c: &mut Conn| -> i64 {
            let mut tx = c.begin().unwrap();
            let id = import::create(&mut tx, &admin(), by, "tracker.csv", b"Referral\n", 0, &Default::default()).unwrap();
            import::record_check(&mut tx, &admin(), id, 1, &Default::default(), &import::Checked::default()).unwrap();
            let version = import::get(&mut tx, id).unwrap().unwrap().version;
            import::begin(&mut tx, &admin(), id, version).unwrap();
            tx.commit().unwrap();
            id
        };
        let stopped = start(&mut c);
        let live = start(&mut c);
        assert_eq!(import::get(&mut c, stopped).unwrap().unwrap().status, "running");
        let recovered = if c.backend() == db::Backend::Postgres {
            // Another node is still importing `live`: its transaction holds the row.
            let mut other = conn(db);
            let mut tx = other.begin().unwrap();
            import::claim(&mut tx, live).unwrap();
            let r = import::recover_interrupted(&mut c).unwrap();
            assert_eq!(import::get(&mut c, live).unwrap().unwrap().status, "running");
            tx.commit().unwrap();
            let mut all = r;
            all.extend(import::recover_interrupted(&mut c).unwrap());
            all
        } else {
            import::recover_interrupted(&mut c).unwrap()
        };
        assert_eq!(recovered, vec![stopped, live]);
        for id in [stopped, live] {
            let u = import::get(&mut c, id).unwrap().unwrap();
            assert_eq!(u.status, "failed");
            assert_eq!(u.error, import::INTERRUPTED);
        }
        assert!(import::recover_interrupted(&mut c).unwrap().is_empty(), "once only");
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM audit_log WHERE action = 'import.interrupted'", &[])
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 2);
        assert!(matches!(audit::verify(&mut c).unwrap(), Verdict::Intact { .. }));
    }
}
