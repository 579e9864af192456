//! A TestApp: the router on a fresh database with the demo data, and people
//! signed in by role (sessions created the way sign-in creates them).
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // tests stop at the first surprise

use axum::body::Body;
use axum::http::{Request, Response, header};
use jp_domain::{Email, Role};
use jp_store::testing::TestDb;
use jp_store::{accounts, demo, sessions};
use tower::ServiceExt;

pub mod flow;
pub mod smtp;

pub struct TestApp {
    pub db: TestDb,
    pub router: axum::Router,
    /// The state the router runs on (for background jobs a test drives).
    pub state: jp_web::AppState,
}

pub struct Login {
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// Every test on both backends: SQLite, then PostgreSQL when reachable.
    pub fn each_backend() -> Vec<TestApp> {
        let mut v = vec![TestApp::new(jp_store::testing::sqlite())];
        if let Some(db) = jp_store::testing::postgres() {
            v.push(TestApp::new(db));
        }
        v
    }

    pub fn new(db: TestDb) -> TestApp {
        TestApp::with_config(db, jp_web::WebConfig::default())
    }

    /// The app with its own configuration (upload limits, data directory).
    pub fn with_config(db: TestDb, config: jp_web::WebConfig) -> TestApp {
        blocking(|| demo::load(&mut db.store.conn().unwrap()).unwrap());
        let state = jp_web::AppState::new(db.store.clone(), config);
        TestApp {
            router: jp_web::app(state.clone()),
            state,
            db,
        }
    }

    /// A fresh session for the demo user holding `role`.
    pub fn login(&self, role: Role) -> Login {
        blocking(|| self.login_now(role))
    }

    fn login_now(&self, role: Role) -> Login {
        let (_, _, email) = demo::DEMO_USERS
            .iter()
            .find(|(r, _, _)| *r == role)
            .unwrap();
        self.login_email(email)
    }

    /// A fresh session for any account, by e-mail address.
    #[allow(dead_code)] // not every test binary signs in by address
    pub fn login_as(&self, email: &str) -> Login {
        blocking(|| self.login_email(email))
    }

    fn login_email(&self, email: &str) -> Login {
        let mut c = self.db.store.conn().unwrap();
        let user = accounts::find_by_email(&mut c, &Email::parse(email).unwrap())
            .unwrap()
            .unwrap();
        let mut tx = c.begin().unwrap();
        let token = sessions::create(&mut tx, user.id).unwrap();
        tx.commit().unwrap();
        let csrf: String = c
            .query_one(
                "SELECT csrf_token FROM sessions WHERE id_hash = $1",
                &jp_store::params![accounts::sha256_hex(&token)],
            )
            .unwrap()
            .get(0)
            .unwrap();
        Login {
            cookie: format!("jp_session={token}"),
            csrf,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }
}

pub async fn body_text(res: Response<Body>) -> String {
    let b = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8_lossy(&b).into_owned()
}

pub fn get(path: &str, login: Option<&Login>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(l) = login {
        r = r.header(header::COOKIE, &l.cookie);
    }
    r.body(Body::empty()).unwrap()
}

pub fn post_form(path: &str, login: Option<&Login>, fields: &[(&str, &str)]) -> Request<Body> {
    let mut r =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(l) = login {
        r = r.header(header::COOKIE, &l.cookie);
    }
    r.body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap()
}

pub fn send_json(method: &str, path: &str, login: Option<&Login>, body: &str) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(l) = login {
        r = r
            .header(header::COOKIE, &l.cookie)
            .header("x-csrf-token", &l.csrf);
    }
    r.body(Body::from(body.to_owned())).unwrap()
}

/// Runs blocking database work from inside an async test (the synchronous
/// PostgreSQL client must not run on an async worker thread).
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("blocking work panicked"))
}

/// Runs an async test body on its own runtime; the app (and its database
/// pool) is dropped after the runtime, off any async thread.
pub fn run_async<F: std::future::Future<Output = ()>>(f: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(f);
}

/// A multipart/form-data upload of one file with the form's CSRF token.
pub fn post_file(path: &str, login: &Login, file_name: &str, bytes: &[u8]) -> Request<Body> {
    let boundary = "jp-test-boundary-7d1e";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n",
            login.csrf
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, &login.cookie)
        .body(Body::from(body))
        .unwrap()
}
