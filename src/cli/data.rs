//! `export`, `import`, `backup`, `restore`.

use super::*;

pub(super) async fn export_cmd(services: &Services, args: ExportArgs) -> CliResult {
    let format = match args.format {
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Md => ExportFormat::Markdown,
    };
    let ids = (!args.conversations.is_empty()).then_some(args.conversations);
    match args.out {
        Some(dest) => {
            let r = services
                .store
                .export_file(dest.clone(), format, ids, None)
                .await?;
            eprintln!(
                "Exported {} with {} to {} ({}).",
                crate::engine::model::counted(r.conversations as i64, "conversation"),
                crate::engine::model::counted(r.messages as i64, "message"),
                dest.display(),
                portability::human_bytes(r.bytes)
            );
        }
        None => {
            let text = services.store.export_text(format, ids, None).await?;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| fail(format!("Could not write the export to stdout: {e}.")))?;
        }
    }
    Ok(())
}

pub(super) async fn import_cmd(services: &Services, args: ImportArgs) -> CliResult {
    let format = match args.format {
        ImportFormatArg::Auto => ImportFormat::Auto,
        ImportFormatArg::Nexus => ImportFormat::Nexus,
        ImportFormatArg::Chatgpt => ImportFormat::ChatGpt,
    };
    let job = portability::Job::start();
    let call = services
        .store
        .import_file(args.file.clone(), format, Some(job.id().to_owned()));
    let mut call = std::pin::pin!(call);
    let show_progress = std::io::stderr().is_terminal();
    let mut shown = false;
    let outcome = loop {
        tokio::select! {
            r = &mut call => break r,
            // Ctrl-C cancels: the transaction rolls back and nothing is imported.
            Ok(()) = tokio::signal::ctrl_c() => job.cancel(),
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                let (done, total) = job.progress();
                if show_progress && total > 0 {
                    eprint!("\rImporting… {done}/{total} conversations");
                    shown = true;
                }
            }
        }
    };
    if shown {
        eprintln!();
    }
    let report = match outcome {
        Ok(r) => r,
        Err(Error::Cancelled) => {
            return Err(Failure {
                code: 130,
                message: "Stopped. The import was rolled back; nothing was changed.".into(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        println!("{}", report.summary());
        if report.profiles_created > 0 {
            println!(
                "Created {} backend profile(s) named in the file, without keys: add keys in Settings → Backends.",
                report.profiles_created
            );
        }
    }
    Ok(())
}

pub(super) async fn backup_cmd(
    services: &Services,
    dirs: &DataDirs,
    out: Option<PathBuf>,
    keep: Option<usize>,
) -> CliResult {
    let path = match out {
        Some(dest) => {
            services.store.backup_to(dest.clone()).await?;
            dest
        }
        None => {
            services
                .store
                .backup_now(dirs.backups(), None, None)
                .await?
        }
    };
    if let Some(keep) = keep {
        let removed = portability::apply_backup_retention(&dirs.backups(), keep.max(1))?;
        if !removed.is_empty() {
            eprintln!("Removed {} older backup(s).", removed.len());
        }
    }
    println!("{}", path.display());
    Ok(())
}

pub(super) fn restore_cmd(dirs: &DataDirs, args: &RestoreArgs) -> CliResult {
    let file = match (&args.file, args.latest) {
        (Some(f), _) => f.clone(),
        (None, _) => portability::latest_backup(&dirs.backups())?.ok_or_else(|| {
            fail(format!(
                "There is no backup in {} yet. Take one with `opencode-nexus backup`.",
                dirs.backups().display()
            ))
        })?,
    };
    let report = portability::restore(&dirs.database(), &file)?;
    println!("Restored the history from {}.", file.display());
    if let Some(pre) = &report.pre_restore {
        println!("The database it replaced was saved as {}.", pre.display());
    }
    Ok(())
}
