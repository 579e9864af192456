//! Where attachment files live. By default the data directory (content-addressed
//! by SHA-256, `jp_store::attachments::Blobs`). With `JOINTPANEL_ATTACHMENTS_URL`
//! set to `s3://bucket[/prefix]`, an S3-compatible bucket (through `object_store`),
//! so several nodes share the files: uploads are still received and checked in
//! the data directory, then copied to the bucket and the local copy removed.
//! The endpoint and credentials come from the usual AWS_* variables
//! (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).

use crate::error::AppError;
use jp_store::attachments::Blobs;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use std::sync::Arc;

#[derive(Clone, Debug, Default)]
pub enum FileStore {
    #[default]
    Local,
    S3 {
        store: Arc<AmazonS3>,
        prefix: String,
    },
}

/// The explicit settings of a bucket (tests, or configuration without AWS_* variables).
pub struct S3Settings<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub endpoint: Option<&'a str>,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
}

fn install_tls_provider() {
    // One process-wide rustls provider (ring); a second install is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl FileStore {
    /// From `JOINTPANEL_ATTACHMENTS_URL`: none or empty is the data directory.
    pub fn from_url(url: Option<&str>) -> Result<FileStore, String> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(FileStore::Local);
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            format!("JOINTPANEL_ATTACHMENTS_URL must look like s3://bucket or s3://bucket/prefix, not {url}")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        install_tls_provider();
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| format!("the attachment bucket {bucket} cannot be used: {e}"))?;
        Ok(FileStore::S3 {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    pub fn s3(s: &S3Settings<'_>) -> Result<FileStore, String> {
        install_tls_provider();
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(s.bucket)
            .with_access_key_id(s.access_key_id)
            .with_secret_access_key(s.secret_access_key)
            .with_region(s.region);
        if let Some(e) = s.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        let store = b.build().map_err(|e| e.to_string())?;
        Ok(FileStore::S3 {
            store: Arc::new(store),
            prefix: s.prefix.trim_matches('/').to_owned(),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            FileStore::Local => "the data directory".into(),
            FileStore::S3 { prefix, .. } => format!("an S3-compatible bucket (prefix “{prefix}”)"),
        }
    }

    fn key(prefix: &str, sha256: &str) -> ObjectPath {
        if prefix.is_empty() {
            ObjectPath::from(format!("attachments/{sha256}"))
        } else {
            ObjectPath::from(format!("{prefix}/attachments/{sha256}"))
        }
    }

    /// After a file is checked and kept in the data directory: copies it to the
    /// bucket (unless it is there already) and removes the local copy.
    pub async fn publish(&self, blobs: &Blobs, sha256: &str) -> Result<(), AppError> {
        let FileStore::S3 { store, prefix } = self else {
            return Ok(());
        };
        let key = Self::key(prefix, sha256);
        let local = blobs
            .path(sha256)
            .ok_or_else(|| AppError::Internal("not a content hash".into()))?;
        if store.head(&key).await.is_err() {
            let bytes = tokio::fs::read(&local)
                .await
                .map_err(|e| AppError::Internal(format!("reading the checked upload: {e}")))?;
            store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(|e| {
                    AppError::Internal(format!("the attachment store refused the file: {e}"))
                })?;
        }
        let _ = tokio::fs::remove_file(&local).await;
        Ok(())
    }

    /// A stored file's bytes.
    pub async fn read(&self, blobs: &Blobs, sha256: &str) -> Result<Vec<u8>, AppError> {
        match self {
            FileStore::Local => {
                let path = blobs
                    .path(sha256)
                    .ok_or_else(|| AppError::Internal("not a content hash".into()))?;
                tokio::fs::read(path).await.map_err(|e| {
                    AppError::Internal(format!(
                        "attachment {sha256} is missing from the data directory: {e}"
                    ))
                })
            }
            FileStore::S3 { store, prefix } => {
                let got = store.get(&Self::key(prefix, sha256)).await.map_err(|e| {
                    AppError::Internal(format!(
                        "attachment {sha256} is missing from the bucket: {e}"
                    ))
                })?;
                let bytes = got.bytes().await.map_err(|e| {
                    AppError::Internal(format!("reading attachment {sha256} from the bucket: {e}"))
                })?;
                Ok(bytes.to_vec())
            }
        }
    }
}

/// A file sent for download: its type (octet-stream when unusable), an
/// attachment disposition with an ASCII name and the UTF-8 one, no sniffing,
/// no caching (case papers must not stay in shared caches).
pub fn download(bytes: Vec<u8>, file_name: &str, content_type: &str) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut res = axum::body::Body::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                if c == '"' { '_' } else { c }
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::forms::url_encode(file_name)
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
