//! What the runtime logs, kept for the tests: an error page shows a reference instead of the
//! reason (a bad signature, an issuer), and the reason goes to the log under that reference, so
//! a test of a refusal reads it there, as whoever answers a support request would.

use std::io::Write;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Every line logged since [`install`], in order.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs the process's log subscriber, once: `RUST_LOG` (default `warn`), and the error
/// pages' lines (`axum_identity_runtime::web_app::pages`, at `info`) whatever it says. Every line is
/// kept for [`under_reference`] and printed through the test harness, which shows a failing
/// test's output.
pub fn install() {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
    let filter = EnvFilter::new(format!(
        "{directives},axum_identity_runtime::web_app::pages=info"
    ));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Keep)
        .try_init();
}

/// The line logged under `reference` (the `Reference:` an error page shows), if any.
pub fn under_reference(reference: &str) -> Option<String> {
    let needle = format!("reference={reference}");
    LINES
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|line| line.split_whitespace().any(|word| word == needle))
        .cloned()
}

/// The reference an error page shows (`Reference: <it>`).
pub fn reference_on(body: &str) -> Option<&str> {
    let after = body.split("Reference: ").nth(1)?;
    let end = after.find(['<', ' ', '\n']).unwrap_or(after.len());
    Some(&after[..end])
}

/// The reason an error page's sign-in failed, from the log line under its reference.
pub fn reason_of(body: &str) -> String {
    let reference = reference_on(body).unwrap_or_else(|| panic!("no reference on: {body}"));
    under_reference(reference)
        .unwrap_or_else(|| panic!("nothing logged under the reference {reference}"))
}

/// What `f` logs at `warn` and above on this thread, while it runs (a thread-local subscriber:
/// other tests' lines never mix in). For code that logs synchronously, such as a builder.
pub fn capture(f: impl FnOnce()) -> String {
    use tracing_subscriber::util::SubscriberInitExt as _;
    let buffer = std::sync::Arc::new(Mutex::new(Vec::new()));
    let sink = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("warn"))
        .with_ansi(false)
        .with_writer(move || Shared(sink.clone()))
        .finish();
    {
        let _guard = subscriber.set_default();
        f();
    }
    let bytes = buffer.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A writer into a shared buffer, for [`capture`].
struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Keep;

/// One formatted event: `fmt` writes each event whole, then drops its writer.
struct Line(Vec<u8>);

impl<'a> MakeWriter<'a> for Keep {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0).into_owned();
        // `print!` goes through the test harness's capture (shown for a failing test).
        print!("{text}");
        LINES.lock().unwrap().push(text);
    }
}
