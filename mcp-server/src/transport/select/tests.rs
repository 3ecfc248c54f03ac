use super::*;

fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<TransportArgs, TransportArgsError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    TransportArgs::parse(args.iter().copied(), move |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

#[test]
fn flags_and_environment() {
    assert!(matches!(parse(&[], &[]), Ok(TransportArgs::Stdio)));
    assert_eq!(
        parse(&["--port", "9000"], &[]).unwrap().to_string(),
        "http://127.0.0.1:9000/mcp"
    );
    assert_eq!(
        parse(&["--transport=http", "--host", "0.0.0.0"], &[])
            .unwrap()
            .to_string(),
        "http://0.0.0.0:3001/mcp"
    );
    assert_eq!(
        parse(
            &[],
            &[("MCP_TRANSPORT", "http"), ("PORT", "8080"), ("HOST", "::1")]
        )
        .unwrap()
        .to_string(),
        "http://[::1]:8080/mcp"
    );
    // Arguments win over the environment.
    assert!(matches!(
        parse(&["--transport", "stdio"], &[("MCP_TRANSPORT", "http")]),
        Ok(TransportArgs::Stdio)
    ));
    // PORT alone (as containers set it) does not switch transports.
    assert!(matches!(
        parse(&[], &[("PORT", "8080")]),
        Ok(TransportArgs::Stdio)
    ));
    assert_eq!(
        parse(&["--transport", "carrier-pigeon"], &[]).unwrap_err(),
        TransportArgsError::UnknownTransport("carrier-pigeon".into())
    );
    assert_eq!(
        parse(&["--port", "http"], &[]).unwrap_err(),
        TransportArgsError::InvalidPort("http".into())
    );
    assert_eq!(
        parse(&["--port"], &[]).unwrap_err(),
        TransportArgsError::MissingValue("--port".into())
    );
    assert_eq!(
        parse(&["--verbose"], &[]).unwrap_err(),
        TransportArgsError::UnknownArgument("--verbose".into())
    );
    let TransportArgs::Http { config, .. } =
        parse(&["--port", "1"], &[("MCP_API_KEYS", "ci:key-1:a+b")]).unwrap()
    else {
        panic!("http expected");
    };
    assert!(format!("{config:?}").contains("authenticated: true"));
    assert!(matches!(
        parse(&["--port", "1"], &[("MCP_API_KEYS", "nokey")]),
        Err(TransportArgsError::ApiKeys(_))
    ));
}

#[test]
fn session_limits_from_the_environment() {
    let TransportArgs::Http { config, .. } = parse(
        &["--port", "1"],
        &[
            ("MCP_MAX_SESSIONS", "500"),
            ("MCP_MAX_SESSIONS_PER_PRINCIPAL", "50"),
            ("MCP_MAX_SESSIONS_PER_CLIENT", " 5 "),
        ],
    )
    .unwrap() else {
        panic!("http expected");
    };
    let debug = format!("{config:?}");
    for expected in [
        "max_sessions: 500",
        "max_sessions_per_principal: 50",
        "max_sessions_per_client: 5",
    ] {
        assert!(debug.contains(expected), "{debug}");
    }
    for bad in ["0", "-1", "many"] {
        assert_eq!(
            parse(&["--port", "1"], &[("MCP_MAX_SESSIONS_PER_CLIENT", bad)]).unwrap_err(),
            TransportArgsError::InvalidValue {
                name: "MCP_MAX_SESSIONS_PER_CLIENT",
                value: bad.into()
            }
        );
    }
}

#[test]
fn shutdown_timing_from_the_environment() {
    let config = |env: &[(&str, &str)]| match parse(&["--port", "1"], env) {
        Ok(TransportArgs::Http { config, .. }) => format!("{config:?}"),
        other => panic!("http expected: {other:?}"),
    };
    let defaults = config(&[]);
    assert!(defaults.contains("shutdown_grace: 5s"), "{defaults}");
    assert!(defaults.contains("shutdown_deadline: 10s"), "{defaults}");
    let set = config(&[
        ("MCP_SHUTDOWN_GRACE", "0"),
        ("MCP_SHUTDOWN_DEADLINE", "1500ms"),
    ]);
    assert!(set.contains("shutdown_grace: 0ns"), "{set}");
    assert!(set.contains("shutdown_deadline: 1.5s"), "{set}");
    assert_eq!(
        parse(&["--port", "1"], &[("MCP_SHUTDOWN_GRACE", "soon")]).unwrap_err(),
        TransportArgsError::InvalidValue {
            name: "MCP_SHUTDOWN_GRACE",
            value: "soon".into()
        }
    );
}

fn http_config(env: &[(&str, &str)]) -> Result<HttpConfig, TransportArgsError> {
    match parse(&["--port", "1"], env)? {
        TransportArgs::Http { config, .. } => Ok(config),
        TransportArgs::Stdio => panic!("http expected"),
    }
}

#[test]
fn routes_and_limits_from_the_environment() {
    use std::time::Duration;

    let defaults = http_config(&[]).unwrap();
    let config = http_config(&[
        ("MCP_PATH", " /rpc "),
        ("MCP_BASE_PATH", "/api/"),
        ("MCP_LEGACY_SSE", "off"),
        ("MCP_SSE_PATH", "/events"),
        ("MCP_METRICS_PATH", "/internal/metrics"),
        ("MCP_METRICS_AUTH", "true"),
        ("MCP_DIAGNOSTICS_PATH", "off"),
        ("MCP_MAX_BODY_BYTES", "65536"),
        ("MCP_MAX_BODY_BYTES_IN_FLIGHT", "1048576"),
        ("MCP_REQUEST_TIMEOUT", "2m"),
        ("MCP_BODY_TIMEOUT", "5s"),
        ("MCP_MAX_CONCURRENT_REQUESTS", "64"),
        ("MCP_MAX_CONNECTIONS", "300"),
        ("MCP_SESSION_IDLE_TIMEOUT", "1h"),
        ("MCP_KEEP_ALIVE", "500ms"),
    ])
    .unwrap();
    assert_eq!(config.endpoint(), "/rpc");
    assert_eq!(config.base_path.as_deref(), Some("/api"));
    assert_eq!(defaults.base_path, None);
    assert!(defaults.legacy_sse && !config.legacy_sse);
    assert_eq!(config.sse_path, "/events");
    // The other legacy path keeps its default.
    assert_eq!(config.messages_path, "/messages");
    assert_eq!(config.metrics_path.as_deref(), Some("/internal/metrics"));
    assert!(!defaults.metrics_auth && config.metrics_auth);
    assert_eq!(defaults.diagnostics_path.as_deref(), Some("/diagnostics"));
    assert_eq!(config.diagnostics_path, None);
    assert_eq!(config.max_body_bytes, 65536);
    assert_eq!(
        (
            config.body_budget_bytes,
            config.body_budget.available_permits()
        ),
        (1 << 20, 1 << 20)
    );
    assert_eq!(defaults.body_budget_bytes, 256 << 20);
    assert_eq!(config.request_timeout, Duration::from_secs(120));
    assert_eq!(config.header_timeout, defaults.header_timeout);
    assert_eq!(config.body_timeout, Duration::from_secs(5));
    assert_eq!(config.max_concurrent_requests, 64);
    assert_eq!(config.connection_limit(), 300);
    assert_eq!(defaults.max_connections, None);
    assert_eq!(config.session_idle_timeout, Duration::from_secs(3600));
    assert_eq!(config.keep_alive, Duration::from_millis(500));

    let config = http_config(&[
        ("MCP_METRICS_PATH", ""),
        ("MCP_METRICS_AUTH", "no"),
        ("MCP_MESSAGES_PATH", "/post"),
        ("MCP_HEADER_TIMEOUT", "10s"),
    ])
    .unwrap();
    assert_eq!(config.metrics_path, None);
    assert!(!config.metrics_auth);
    assert_eq!(
        (config.sse_path.as_str(), config.messages_path.as_str()),
        ("/sse", "/post")
    );
    assert_eq!(config.header_timeout, Duration::from_secs(10));
    assert_eq!(config.body_timeout, defaults.body_timeout);
}

#[test]
fn bad_routes_and_limits_name_their_variable() {
    for (name, bad) in [
        ("MCP_PATH", "mcp"),
        ("MCP_PATH", "/m cp"),
        ("MCP_BASE_PATH", "api"),
        ("MCP_SSE_PATH", "sse"),
        ("MCP_MESSAGES_PATH", "/messages?x=1"),
        ("MCP_METRICS_PATH", "metrics"),
        ("MCP_DIAGNOSTICS_PATH", "disabled"),
        ("MCP_LEGACY_SSE", "maybe"),
        ("MCP_METRICS_AUTH", "required"),
        ("MCP_MAX_BODY_BYTES", "4MiB"),
        ("MCP_MAX_BODY_BYTES", "0"),
        ("MCP_MAX_CONCURRENT_REQUESTS", "-1"),
        ("MCP_REQUEST_TIMEOUT", "0"),
        ("MCP_REQUEST_TIMEOUT", "forever"),
        ("MCP_HEADER_TIMEOUT", "30 seconds"),
        ("MCP_BODY_TIMEOUT", "0s"),
        ("MCP_SESSION_IDLE_TIMEOUT", "1d"),
        ("MCP_KEEP_ALIVE", "-5s"),
    ] {
        let error = http_config(&[(name, bad)]).unwrap_err();
        assert_eq!(
            error,
            TransportArgsError::InvalidValue {
                name,
                value: bad.into()
            }
        );
        assert!(error.to_string().contains(name), "{error}");
    }
}

#[test]
fn usage_lists_every_variable_read() {
    let source = [include_str!("mod.rs"), include_str!("env.rs")];
    let read: std::collections::BTreeSet<&str> = source
        .iter()
        .flat_map(|source| source.split('"'))
        .filter(|s| s.starts_with("MCP_") && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    for name in read {
        assert!(USAGE.contains(name), "USAGE does not list {name}");
    }
}
