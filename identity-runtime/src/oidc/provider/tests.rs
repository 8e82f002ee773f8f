use super::*;

/// A provider on a loopback port where nothing listens.
fn unreachable() -> Provider {
    Provider::new(
        Authority::oidc("http://127.0.0.1:9").unwrap(),
        crate::core::http::default_client(Duration::from_secs(1)).unwrap(),
        Duration::from_secs(60),
    )
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_with_its_cause() {
    let Err(error) = unreachable().metadata().await else {
        panic!("nothing listens there")
    };
    assert!(
        matches!(
            error,
            Error::ProviderUnavailable {
                source: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.chain().contains("127.0.0.1:9"), "{}", error.chain());
}

#[tokio::test]
async fn after_a_failure_callers_fail_fast_instead_of_queueing() {
    let provider = unreachable();
    assert!(provider.metadata().await.is_err());
    let started = Instant::now();
    let Err(error) = provider.metadata().await else {
        panic!("nothing listens there")
    };
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(error.to_string().contains("moments ago"), "{error}");
}
