//! Route registration that cannot forget the policy: each route is looked up
//! in [`crate::policy::POLICY`] when registered (a route missing from the table
//! panics at start-up and fails every test) and wrapped in the guard that
//! enforces it on the server.

use crate::auth::Principal;
use crate::error::AppError;
use crate::policy::{self, Access, Verb};
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{self, MethodRouter};

#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    registered: Vec<(Verb, &'static str)>,
}

macro_rules! verb {
    ($name:ident, $verb:expr, $routing:path) => {
        pub fn $name<H, T>(self, path: &'static str, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add($verb, path, $routing(handler))
        }
    };
}

impl Routes {
    verb!(get, Verb::Get, routing::get);
    verb!(post, Verb::Post, routing::post);
    verb!(put, Verb::Put, routing::put);
    verb!(delete, Verb::Delete, routing::delete);

    fn add(mut self, verb: Verb, path: &'static str, route: MethodRouter<AppState>) -> Self {
        let access = policy::lookup(verb, path).unwrap_or_else(|| {
            panic!(
                "{} {path} is not in the policy table (crates/web/src/policy.rs)",
                verb.as_str()
            )
        });
        let route = route.route_layer(middleware::from_fn(move |req: Request, next: Next| {
            guard(access, req, next)
        }));
        self.router = self.router.route(path, route);
        self.registered.push((verb, path));
        self
    }

    /// A POST route whose body is limited by its handler while it streams
    /// (uploads), instead of by the application-wide body limit.
    pub fn post_streamed<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(
            Verb::Post,
            path,
            routing::post(handler).layer(axum::extract::DefaultBodyLimit::disable()),
        )
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.registered.extend(other.registered);
        self
    }

    pub fn registered(&self) -> &[(Verb, &'static str)] {
        &self.registered
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// Enforces one route's access rule.
async fn guard(access: Access, req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/");
    let allowed = match req.extensions().get::<Principal>() {
        None => {
            if api {
                return AppError::Unauthorised.into_problem();
            }
            let next_path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            let target = if next_path == "/" || req.method() != axum::http::Method::GET {
                "/sign-in".to_owned()
            } else {
                format!("/sign-in?next={}", crate::forms::url_encode(&next_path))
            };
            return Redirect::to(&target).into_response();
        }
        Some(p) => access.allows(&p.user.roles),
    };
    if allowed {
        next.run(req).await
    } else if api {
        AppError::Forbidden.into_problem()
    } else {
        AppError::Forbidden.into_response()
    }
}
