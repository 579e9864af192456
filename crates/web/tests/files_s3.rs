//! Attachments kept in an S3-compatible bucket (object_store), against a real
//! S3 server on 127.0.0.1: moto's server from PyPI, installed by `.ci/run` into
//! `.ci/venv`. The upload is checked as before, lands in the bucket (not the
//! data directory), and downloads come back byte for byte.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::*;
use jp_domain::Role;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto_server() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join(".ci/venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("moto_server"))
            .find(|f| f.exists())
    })
}

fn http(port: u16, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn attachments_go_to_the_bucket_and_come_back() {
    let Some(bin) = moto_server() else {
        assert!(
            !jp_store::testing::in_ci(),
            "CI=true but moto_server is missing: .ci/run installs it"
        );
        eprintln!("SKIPPED: moto_server (PyPI moto[server]) is not installed");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _moto = Moto(
        Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "moto_server did not start");
    let created = http(
        port,
        "PUT /jp-attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(
        created.starts_with("HTTP/1.1 200") || created.starts_with("HTTP/1.0 200"),
        "{created}"
    );

    let endpoint = format!("http://127.0.0.1:{port}");
    let files = jp_web::files::FileStore::s3(&jp_web::files::S3Settings {
        bucket: "jp-attachments",
        prefix: "northmoor",
        endpoint: Some(&endpoint),
        access_key_id: "test",
        secret_access_key: "test",
        region: "eu-west-2",
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = jp_web::WebConfig {
        data_dir: dir.path().to_owned(),
        files,
        ..Default::default()
    };
    let app = TestApp::with_config(jp_store::testing::sqlite(), config);
    run_async(async {
        let referrer = app.login(Role::Referrer);
        let id = new_referral(&app, &referrer, "S3-1").await;
        let pdf = b"%PDF-1.7\n% a report kept in the bucket\n%%EOF\n".to_vec();
        let res = app
            .send(post_file(
                &format!("/referrals/{id}/evidence"),
                &referrer,
                "report.pdf",
                &pdf,
            ))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}",
            body_text(res).await
        );
        let a = blocking(|| {
            jp_store::attachments::of_referral(&mut app.db.store.conn().unwrap(), id).unwrap()[0]
                .clone()
        });

        // In the bucket under the prefix, not left in the data directory.
        let listed = http(
            port,
            "GET /jp-attachments?list-type=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
        assert!(
            listed.contains(&format!("northmoor/attachments/{}", a.sha256)),
            "{listed}"
        );
        let local = jp_store::attachments::Blobs::new(dir.path().join("attachments"))
            .path(&a.sha256)
            .unwrap();
        assert!(
            !local.exists(),
            "the local copy is removed once the bucket has it"
        );

        let res = app
            .send(get(&format!("/attachments/{}", a.id), Some(&referrer)))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), pdf.as_slice());

        // A refused file never reaches the bucket.
        let res = app
            .send(post_file(
                &format!("/referrals/{id}/evidence"),
                &referrer,
                "setup.pdf",
                b"MZ\x90\x00 a program",
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let listed = http(
            port,
            "GET /jp-attachments?list-type=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(listed.matches("<Key>").count(), 1, "{listed}");
    });
}
