//! Sending the outbox over SMTP (lettre). `JOINTPANEL_SMTP_URL` names the
//! server: `smtp://host:25` (plain, for a local relay), `smtp://host:587?tls=required`
//! (STARTTLS) or `smtps://host:465`, with `user:password@` when it needs a
//! sign-in. Without it, messages wait in the outbox and the outbox page says so.

use jp_store::Store;
use jp_store::outbox::{self, Mail};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};
use std::time::Duration;

/// How long a worker holds a claimed message before another may take it.
const LEASE_SECONDS: i64 = 120;
/// How often the worker looks for due messages.
const POLL: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    worker: String,
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, String> {
        let transport = SmtpTransport::from_url(smtp_url)
            .map_err(|e| format!("JOINTPANEL_SMTP_URL is not a usable SMTP address: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("JOINTPANEL_MAIL_FROM is not an e-mail address ({e})"))?;
        let host = lettre::transport::smtp::extension::ClientId::default();
        Ok(Mailer {
            transport,
            from,
            worker: format!("{host}-{}", std::process::id()),
        })
    }

    fn message(
        &self,
        m: &Mail,
        file: Option<(String, String, Vec<u8>)>,
    ) -> Result<Message, String> {
        let to: Mailbox = format!(
            "{} <{}>",
            m.to_name.replace(['<', '>', '"'], ""),
            m.to_address
        )
        .parse()
        .or_else(|_| m.to_address.parse())
        .map_err(|e| format!("the address {} is not valid: {e}", m.to_address))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject);
        let built = match file {
            None => builder.header(ContentType::TEXT_PLAIN).body(m.body.clone()),
            Some((name, content_type, bytes)) => {
                let ctype = ContentType::parse(&content_type)
                    .map_err(|e| format!("the attachment's type is not valid: {e}"))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(m.body.clone()))
                        .singlepart(Attachment::new(name).body(bytes, ctype)),
                )
            }
        };
        built.map_err(|e| format!("the message could not be built: {e}"))
    }

    /// Claims what is due and sends it; returns how many were sent. Blocking.
    pub fn send_due(&self, store: &Store) -> Result<usize, String> {
        let mut conn = store.conn().map_err(|e| e.to_string())?;
        let due = outbox::claim(
            &mut conn,
            &self.worker,
            chrono::Duration::seconds(LEASE_SECONDS),
            20,
        )
        .map_err(|e| e.to_string())?;
        let mut sent = 0;
        for m in due {
            let file = match m.attachment_id {
                Some(id) => match outbox::attachment(&mut conn, id).map_err(|e| e.to_string())? {
                    Some(f) => Some(f),
                    None => {
                        outbox::mark_failed(
                            &mut conn,
                            m.id,
                            &self.worker,
                            "its attachment is missing",
                            true,
                        )
                        .map_err(|e| e.to_string())?;
                        continue;
                    }
                },
                None => None,
            };
            let outcome = self
                .message(&m, file)
                .map_err(|e| (e, true))
                .and_then(|msg| {
                    self.transport
                        .send(&msg)
                        .map(|_| ())
                        .map_err(|e| (e.to_string(), e.is_permanent()))
                });
            match outcome {
                Ok(()) => {
                    outbox::mark_sent(&mut conn, m.id, &self.worker).map_err(|e| e.to_string())?;
                    sent += 1;
                }
                Err((error, permanent)) => {
                    tracing::warn!(id = m.id, attempt = m.attempts, %error, "mail not sent");
                    outbox::mark_failed(&mut conn, m.id, &self.worker, &error, permanent)
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(sent)
    }

    /// Runs until the process ends: sends what is due every few seconds.
    pub async fn run(self, store: Store) {
        loop {
            let (me, st) = (self.clone(), store.clone());
            match tokio::task::spawn_blocking(move || me.send_due(&st)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(sent = n, "outbox"),
                Ok(Err(e)) => tracing::error!(error = %e, "outbox worker"),
                _ => {}
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
