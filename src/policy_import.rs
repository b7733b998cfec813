//! `zhucun policy import FILES|DIR`: many policy documents at once, as an office has them
//! in a folder. Each file is known by its SHA-256, so running the import again adds only
//! what is new. The title, issuer and date come from a sidecar table (`--meta FILE`, or
//! `policies.csv` / `目录.csv` / `.xlsx` in a folder given) or else from the document's
//! text (`domain::policy::describe_from_text`). The file waits in the database until the
//! bot first sends it. A refused file is one line on stderr; the others go in.

use anyhow::{Context, Result, anyhow, bail};
use domain::config::Config;
use domain::policy::{Description, MAX_TITLE_CHARS, describe_from_text};
use domain::{Clock, SystemClock};
use extract::table::Table;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use storage::{Imported, NewPolicy, PolicyFile};

/// The sidecar names looked for in a folder given.
const SIDECARS: [&str; 4] = ["policies.csv", "policies.xlsx", "目录.csv", "目录.xlsx"];

/// Telegram lets a bot send documents of at most 50 MB.
const MAX_SEND_MB: u64 = 50;

pub async fn run(config: &Config, paths: &[PathBuf], meta: Option<&Path>) -> Result<()> {
    let mut sidecars: Vec<PathBuf> = meta.map(Path::to_path_buf).into_iter().collect();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            sidecars.extend(
                SIDECARS
                    .iter()
                    .map(|s| path.join(s))
                    .filter(|p| p.is_file()),
            );
            walk(path, &mut files).with_context(|| format!("cannot read {}", path.display()))?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            bail!("{} is neither a file nor a folder", path.display());
        }
    }
    // A sidecar is the description of the others, not a document.
    files.retain(|f| !sidecars.iter().any(|s| same_file(s, f)));
    files.dedup();
    let mut described = HashMap::new();
    for sidecar in &sidecars {
        described.extend(read_sidecar(sidecar)?);
    }
    if files.is_empty() {
        bail!("no files to import");
    }

    let store = crate::open_store(config).await?;
    let max_mb = config.logs.max_file_mb.min(MAX_SEND_MB);
    let bar = ProgressBar::new(files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
            .map_err(|e| anyhow!("{e}"))?,
    );
    let (mut added, mut present, mut refused) = (0usize, 0usize, 0usize);
    for file in &files {
        bar.set_message(file.display().to_string());
        match import_one(&store, file, &described, max_mb).await {
            Ok(Imported::Added(_)) => added += 1,
            Ok(Imported::AlreadyIn(_)) => present += 1,
            Err(Refused(why)) => {
                refused += 1;
                // Printed whether or not the bar is drawn (it is not when stderr is no terminal).
                bar.suspend(|| eprintln!("{}: refused: {why}", file.display()));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    store.close().await;
    println!("policy import: {added} added, {present} already in the library, {refused} refused");
    if refused > 0 {
        bail!("{refused} file(s) refused; the others were imported");
    }
    Ok(())
}

/// Why one file was not imported, in a line.
struct Refused(String);

async fn import_one(
    store: &storage::Store,
    file: &Path,
    described: &HashMap<String, Description>,
    max_mb: u64,
) -> std::result::Result<Imported, Refused> {
    let bytes = std::fs::read(file).map_err(|e| Refused(format!("cannot read it ({e})")))?;
    if !domain::policy::within_download_limit(bytes.len() as u64, max_mb) {
        return Err(Refused(format!(
            "over {max_mb} MB, more than the bot may send"
        )));
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extracted = extract::extract_file(&bytes, Some(&name), None).map_err(|e| {
        Refused(match e {
            extract::ExtractError::Unsupported => {
                "not a PDF, DOCX or TXT file (convert .doc and scans to PDF)".into()
            }
            e => e.to_string(),
        })
    })?;
    let stem = file
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let description = described
        .get(&name)
        .cloned()
        .unwrap_or_else(|| describe_from_text(&extracted.text, &stem));
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let new = NewPolicy {
        title: &description.title,
        issuer: description.issuer.as_deref(),
        issued_on: description.issued_on,
        file_id: "",
        file_name: Some(&name),
        format: extracted.format.as_str(),
        text: &extracted.text,
        no_text: extracted.scan,
        added_by: 0,
    };
    store
        .import_policy(
            new,
            PolicyFile {
                sha256: &sha256,
                bytes: &bytes,
            },
            SystemClock.now(),
        )
        .await
        .map_err(|e| Refused(format!("not stored ({e})")))
}

/// The files under `dir`, in name order, hidden ones left out.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The columns of a sidecar: English or Chinese headings.
const META_COLUMNS: [&[&str]; 4] = [
    &["file", "文件", "文件名"],
    &["title", "标题", "文件标题"],
    &["issuer", "发文机关", "发文单位"],
    &["date", "日期", "发文日期", "成文日期"],
];

/// A sidecar's rows by file name. Every bad row is an error with its line, and nothing
/// is imported, as with the roster.
fn read_sidecar(path: &Path) -> Result<HashMap<String, Description>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows = match extract::table::read(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))? {
        Table::Rows(rows) => rows,
        Table::Csv(text) => csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .filter_map(|r| r.ok())
            .map(|r| {
                let line = r.position().map_or(0, |p| p.line());
                (line, r.iter().map(|c| c.trim().to_string()).collect())
            })
            .collect(),
    };
    let mut rows = rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
    let (_, head) = rows
        .next()
        .ok_or_else(|| anyhow!("{}: the table is empty", path.display()))?;
    let col = |names: &[&str]| {
        head.iter().position(|h| {
            names.iter().any(|n| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(n)
            })
        })
    };
    let (Some(file), Some(title)) = (col(META_COLUMNS[0]), col(META_COLUMNS[1])) else {
        bail!(
            "{}: the heading must name the columns file,title[,issuer,date] (or 文件,标题,发文机关,日期)",
            path.display()
        );
    };
    let (issuer, date) = (col(META_COLUMNS[2]), col(META_COLUMNS[3]));
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for (line, cells) in rows {
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        };
        let Some(name) = cell(Some(file)) else {
            errors.push(format!("line {line}: the file name is empty"));
            continue;
        };
        let Some(t) = cell(Some(title)) else {
            errors.push(format!("line {line}: the title of {name} is empty"));
            continue;
        };
        if t.chars().count() > MAX_TITLE_CHARS {
            errors.push(format!(
                "line {line}: the title is over {MAX_TITLE_CHARS} characters"
            ));
            continue;
        }
        let issued_on = match cell(date) {
            None => None,
            Some(d) => match chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(format!("line {line}: `{d}` is not a date (YYYY-MM-DD)"));
                    continue;
                }
            },
        };
        out.insert(
            name,
            Description {
                title: t,
                issuer: cell(issuer),
                issued_on,
            },
        );
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{}:{e}", path.display());
        }
        bail!(
            "{} has {} error(s); nothing was imported",
            path.display(),
            errors.len()
        );
    }
    Ok(out)
}
