//! A loaded page as hf talks to it: script evaluation over CDP, and the exceptions the page
//! threw.

use crate::CaptureError;
use chromiumoxide::cdp::browser_protocol::inspector;
use chromiumoxide::cdp::browser_protocol::network::{
    BlockPattern, EnableParams, EventRequestWillBeSent, SetBlockedUrLsParams, SetCookieParams,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    EvaluateParams, EventExceptionThrown, ExceptionDetails,
};
use chromiumoxide::Page;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What a script evaluation gave: its JSON value, or the text of the exception it threw.
pub(crate) type Evaluated = Result<serde_json::Value, String>;

/// The page of a capture session, with the exceptions it has thrown since it was opened.
pub(crate) struct PageHandle {
    pub(crate) page: Page,
    /// The URL loaded, for error messages.
    pub(crate) url: String,
    exceptions: Arc<Mutex<Vec<String>>>,
    /// Requests to anything but hf's file server, which Chrome refused.
    blocked: Arc<Mutex<Vec<String>>>,
    /// The renderer crashed (out of memory, a limit hit).
    crashed: Arc<AtomicBool>,
}

/// The origin of `url` with a trailing slash (`http://127.0.0.1:1234/`).
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    format!("{}/", &url[..end])
}

/// Whether the page may load `url`: hf's file server, or data the page already holds.
fn allowed(url: &str, origin: &str) -> bool {
    url.starts_with(origin)
        || ["data:", "blob:", "about:", "javascript:"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
}

/// An exception as the console would show it: description and location.
fn describe_exception(details: &ExceptionDetails) -> String {
    let text = details
        .exception
        .as_ref()
        .and_then(|e| e.description.clone())
        .unwrap_or_else(|| details.text.clone());
    match &details.url {
        Some(url) if !url.is_empty() => {
            format!(
                "{text} (at {url}:{}:{})",
                details.line_number + 1,
                details.column_number + 1
            )
        }
        _ => text,
    }
}

impl PageHandle {
    /// Wrap `page`, which is about to load `url` from the file server with `access_token`,
    /// and start collecting its exceptions.
    pub(crate) async fn new(
        page: Page,
        url: &str,
        access_token: &str,
    ) -> Result<Self, CaptureError> {
        let exceptions = Arc::new(Mutex::new(Vec::new()));
        let mut events = page
            .event_listener::<EventExceptionThrown>()
            .await
            .map_err(CaptureError::cdp("Runtime.exceptionThrown listener"))?;
        let collected = Arc::clone(&exceptions);
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                let message = describe_exception(&event.exception_details);
                collected.lock().expect("exception list lock").push(message);
            }
        });
        let blocked = Self::lock_down(&page, url).await?;
        Self::admit_to_file_server(&page, url, access_token).await?;
        let crashed = Self::watch_for_crash(&page).await?;
        Ok(PageHandle {
            page,
            url: url.to_string(),
            exceptions,
            blocked,
            crashed,
        })
    }

    /// A flag set when the page's renderer crashes.
    async fn watch_for_crash(page: &Page) -> Result<Arc<AtomicBool>, CaptureError> {
        page.execute(inspector::EnableParams::default())
            .await
            .map_err(CaptureError::cdp("Inspector.enable"))?;
        let mut crashes = page
            .event_listener::<inspector::EventTargetCrashed>()
            .await
            .map_err(CaptureError::cdp("Inspector.targetCrashed listener"))?;
        let crashed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&crashed);
        tokio::spawn(async move {
            if crashes.next().await.is_some() {
                flag.store(true, Ordering::SeqCst);
            }
        });
        Ok(crashed)
    }

    /// [`CaptureError::PageCrashed`] if the renderer crashed.
    pub(crate) fn crash(&self) -> Option<CaptureError> {
        self.crashed
            .load(Ordering::SeqCst)
            .then(|| CaptureError::PageCrashed {
                url: self.url.clone(),
            })
    }

    /// Let the page reach hf's file server only: every other request (http(s), ws, other
    /// ports of this machine, cloud metadata addresses) is blocked by Chrome, and its URL kept.
    async fn lock_down(page: &Page, url: &str) -> Result<Arc<Mutex<Vec<String>>>, CaptureError> {
        let origin = origin_of(url);
        page.execute(EnableParams::default())
            .await
            .map_err(CaptureError::cdp("Network.enable"))?;
        let patterns = vec![
            BlockPattern::new(format!("{origin}*"), false),
            BlockPattern::new("*://*:*/*", true),
        ];
        page.execute(SetBlockedUrLsParams {
            url_patterns: Some(patterns),
        })
        .await
        .map_err(CaptureError::cdp("Network.setBlockedURLs"))?;
        let blocked = Arc::new(Mutex::new(Vec::new()));
        let mut requests = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .map_err(CaptureError::cdp("Network.requestWillBeSent listener"))?;
        let collected = Arc::clone(&blocked);
        tokio::spawn(async move {
            while let Some(event) = requests.next().await {
                let url = &event.request.url;
                let mut list = collected.lock().expect("blocked list lock");
                if !allowed(url, &origin) && !list.contains(url) {
                    tracing::debug!("the page requested {url}: blocked");
                    list.push(url.clone());
                }
            }
        });
        Ok(blocked)
    }

    /// Set the file server's access cookie for its origin (httpOnly: the page's scripts do
    /// not see it).
    async fn admit_to_file_server(
        page: &Page,
        url: &str,
        access_token: &str,
    ) -> Result<(), CaptureError> {
        let cookie = SetCookieParams::builder()
            .name(crate::ACCESS_COOKIE)
            .value(access_token)
            .url(origin_of(url))
            .http_only(true)
            .build()
            .map_err(|message| CaptureError::Cdp {
                command: "Network.setCookie".into(),
                message,
            })?;
        page.execute(cookie)
            .await
            .map_err(CaptureError::cdp("Network.setCookie"))?;
        Ok(())
    }

    /// The URLs the page requested that were blocked so far.
    pub(crate) fn blocked_requests(&self) -> Vec<String> {
        self.blocked.lock().expect("blocked list lock").clone()
    }

    /// The first exception the page threw, if any.
    pub(crate) fn first_exception(&self) -> Option<String> {
        self.exceptions
            .lock()
            .expect("exception list lock")
            .first()
            .cloned()
    }

    /// A [`CaptureError::PageScript`] for an exception of this page.
    pub(crate) fn script_error(&self, message: String) -> CaptureError {
        CaptureError::PageScript {
            url: self.url.clone(),
            message,
        }
    }

    /// Evaluate `expression` and return its value by JSON; with `await_promise`, wait for a
    /// returned promise to settle.
    pub(crate) async fn evaluate(
        &self,
        expression: &str,
        await_promise: bool,
    ) -> Result<Evaluated, CaptureError> {
        let mut params = EvaluateParams::new(expression);
        params.return_by_value = Some(true);
        params.await_promise = Some(await_promise);
        let result = self
            .page
            .execute(params)
            .await
            .map_err(CaptureError::cdp("Runtime.evaluate"))?
            .result;
        if let Some(details) = result.exception_details {
            return Ok(Err(describe_exception(&details)));
        }
        Ok(Ok(result.result.value.unwrap_or(serde_json::Value::Null)))
    }

    /// Evaluate one of hf's own scripts; an exception is a [`CaptureError::PageScript`].
    pub(crate) async fn run(&self, script: &str) -> Result<serde_json::Value, CaptureError> {
        self.evaluate(script, false)
            .await?
            .map_err(|message| self.script_error(message))
    }

    /// [`Self::run`], reading the value as `T`; `what` names it in errors.
    pub(crate) async fn run_json<T: serde::de::DeserializeOwned>(
        &self,
        script: &str,
        what: &str,
    ) -> Result<T, CaptureError> {
        let value = self.run(script).await?;
        serde_json::from_value(value)
            .map_err(|e| self.script_error(format!("{what} returned an unexpected value: {e}")))
    }
}
