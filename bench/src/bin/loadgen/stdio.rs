//! Driving a server over its stdin and stdout.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use crate::{Error, Options, check, report};

type Reader = Lines<BufReader<ChildStdout>>;

/// Reads messages until the response to `id`, skipping the server's own
/// requests and notifications.
async fn answer(lines: &mut Reader, id: u64) -> Result<Value, Error> {
    loop {
        let line = lines
            .next_line()
            .await?
            .ok_or("the server closed its stdout")?;
        let message: Value = serde_json::from_str(&line)?;
        match check::response_id(&message) {
            Some(got) if got == id => return Ok(message),
            Some(got) => return Err(format!("answer to {got}, expected {id}").into()),
            None => {}
        }
    }
}

async fn send(stdin: &mut ChildStdin, body: &str) -> Result<(), Error> {
    stdin.write_all(body.as_bytes()).await?;
    stdin.write_all(b"\n").await?;
    stdin.flush().await?;
    Ok(())
}

/// `count` calls, one at a time, from id `first`; their latencies.
async fn sequential(
    stdin: &mut ChildStdin,
    lines: &mut Reader,
    first: u64,
    count: usize,
) -> Result<Vec<Duration>, Error> {
    let mut latencies = Vec::with_capacity(count);
    for id in first..first + count as u64 {
        let started = Instant::now();
        send(stdin, &check::call(id, false)).await?;
        check::echoed(&answer(lines, id).await?)?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// `count` calls with up to `depth` in flight, from id `first`.
async fn pipelined(
    stdin: &mut ChildStdin,
    lines: &mut Reader,
    first: u64,
    count: usize,
    depth: usize,
) -> Result<Vec<Duration>, Error> {
    let window = Arc::new(Semaphore::new(depth));
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let reader = {
        let window = Arc::clone(&window);
        let sent = Arc::clone(&sent);
        async move {
            let mut latencies = Vec::with_capacity(count);
            while latencies.len() < count {
                let line = lines
                    .next_line()
                    .await?
                    .ok_or("the server closed its stdout")?;
                let message: Value = serde_json::from_str(&line)?;
                let Some(id) = check::response_id(&message) else {
                    continue;
                };
                check::echoed(&message)?;
                let started = sent
                    .lock()
                    .map_err(|_| "poisoned")?
                    .remove(&id)
                    .ok_or_else(|| format!("unexpected answer {id}"))?;
                latencies.push(started.elapsed());
                window.add_permits(1);
            }
            Ok::<_, Error>(latencies)
        }
    };
    let writer = async {
        for id in first..first + count as u64 {
            window.acquire().await?.forget();
            sent.lock()
                .map_err(|_| "poisoned")?
                .insert(id, Instant::now());
            send(stdin, &check::call(id, false)).await?;
        }
        Ok::<_, Error>(())
    };
    let (latencies, written) = tokio::join!(reader, writer);
    written?;
    latencies
}

pub(crate) async fn run(options: &Options) -> Result<(), Error> {
    let (program, args) = options
        .command
        .split_first()
        .ok_or("stdio needs the server's command line after --")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Logs as shipped, but discarded: the terminal is not measured.
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();

    send(&mut stdin, &check::initialize(0)).await?;
    check::initialized(&answer(&mut lines, 0).await?)?;
    send(&mut stdin, check::INITIALIZED).await?;
    sequential(&mut stdin, &mut lines, 1, options.warmup).await?;
    let mut next = 1 + options.warmup as u64;

    if options.mode == "seq" || options.mode == "both" {
        let started = Instant::now();
        let mut latencies = sequential(&mut stdin, &mut lines, next, options.calls).await?;
        report("stdio-seq", started.elapsed(), &mut latencies);
        next += options.calls as u64;
    }
    if options.mode == "pipe" || options.mode == "both" {
        let started = Instant::now();
        let mut latencies = pipelined(
            &mut stdin,
            &mut lines,
            next,
            options.calls,
            options.pipeline,
        )
        .await?;
        report("stdio-pipe", started.elapsed(), &mut latencies);
    }

    // End of input: the server exits (and a profiler writes its output).
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .map_err(|_| "the server did not exit after its stdin closed")??;
    if !status.success() {
        return Err(format!("the server exited with {status}").into());
    }
    Ok(())
}
