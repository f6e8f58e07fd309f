//! `hvaudit completions` and `hvaudit man`: generated from the clap definitions.

use super::Failure;
use super::output;

/// `hvaudit completions SHELL`: the completion script clap_complete generates from the same
/// definitions the parser uses, so it never lists a flag that does not exist.
pub fn completions(shell: crate::cli::Shell) -> Result<u8, Failure> {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let s = match shell {
        crate::cli::Shell::Bash => S::Bash,
        crate::cli::Shell::Zsh => S::Zsh,
        crate::cli::Shell::Fish => S::Fish,
        crate::cli::Shell::Powershell => S::PowerShell,
    };
    let mut cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(s, &mut cmd, "hvaudit", &mut buf);
    std::io::Write::write_all(&mut output::Stdout, &buf).map_err(output::stdout_failure)?;
    Ok(super::EXIT_OK)
}

/// `hvaudit man`: one roff page (section 1) rendered by clap_mangen from the parser's
/// definitions: the command, then a section per subcommand with its description and flags,
/// so `man hvaudit` documents every flag.
pub fn man() -> Result<u8, Failure> {
    use clap::CommandFactory;
    let fail = |e: std::io::Error| Failure::scan(format!("rendering the man page: {e}"));
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(fail)?;
    for sub in cmd.get_subcommands() {
        let mut part = Vec::new();
        let page = clap_mangen::Man::new(sub.clone());
        page.render_description_section(&mut part).map_err(fail)?;
        page.render_options_section(&mut part).map_err(fail)?;
        buf.extend_from_slice(
            format!(".SH \"HVAUDIT {}\"\n", sub.get_name().to_ascii_uppercase()).as_bytes(),
        );
        // Each part's own section headers become subsections of this one.
        buf.extend_from_slice(
            String::from_utf8_lossy(&part)
                .replace(".SH ", ".SS ")
                .as_bytes(),
        );
    }
    std::io::Write::write_all(&mut output::Stdout, &buf).map_err(output::stdout_failure)?;
    Ok(super::EXIT_OK)
}
