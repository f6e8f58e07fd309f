//! The audit configuration (`--config hvaudit.toml`): migration groups, clusters, storage
//! servers, LM operators, extra Hyper-V hosts and privileged groups, and rule overrides.
//! The format is documented in `docs/config.md`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::findings::Severity;
use crate::model::Sid;

/// A configuration problem, located in its file.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    /// 1-based line, when the problem can be located.
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from (empty for the default configuration).
    pub source: String,
    /// sAMAccountNames of the accounts admins use to start migrations remotely.
    pub lm_operators: Vec<String>,
    /// Hosts recognised as Hyper-V hosts because the configuration names them (NetBIOS or FQDN).
    pub extra_hyperv_hosts: Vec<String>,
    /// Groups treated as privileged in addition to the built-in list, by SID.
    pub extra_privileged_groups: Vec<Sid>,
    pub groups: Vec<GroupConfig>,
    pub clusters: Vec<ClusterConfig>,
    pub rules: RulesConfig,
}

#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub name: String,
    /// Hosts whose DN ends with this OU (case-insensitive).
    pub ou: Option<String>,
    /// Hosts whose NetBIOS name matches this glob (case-insensitive).
    pub name_glob: Option<String>,
    pub name_matcher: Option<GlobMatcher>,
    /// Hosts named explicitly (NetBIOS or FQDN).
    pub hosts: Vec<String>,
    /// Storage servers (SOFS names) whose `cifs` every member needs.
    pub storage: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RulesConfig {
    /// Rule ids not evaluated.
    pub disable: Vec<String>,
    /// Severity overrides by rule id.
    pub severity: BTreeMap<String, Severity>,
    /// 1-based line of each id named in `disable` or `severity`, so an unknown id can be
    /// reported where it was written.
    pub lines: BTreeMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    lm_operators: Vec<String>,
    #[serde(default)]
    extra_hyperv_hosts: Vec<String>,
    #[serde(default)]
    extra_privileged_groups: Vec<Spanned<String>>,
    #[serde(default)]
    group: Vec<Spanned<RawGroup>>,
    #[serde(default)]
    cluster: Vec<Spanned<RawCluster>>,
    #[serde(default)]
    rules: Option<RawRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    ou: Option<String>,
    name_glob: Option<Spanned<String>>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    storage: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    name: String,
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::from_toml_str(&text, &file)
    }

    /// Parses configuration text; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Config, ConfigError> {
        let err = |span: Option<Range<usize>>, message: String| ConfigError {
            file: file.to_string(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err(e.span(), e.message().trim().to_string()))?;

        let mut extra_privileged_groups = Vec::new();
        for s in &raw.extra_privileged_groups {
            let sid = Sid::parse(s.get_ref().trim())
                .map_err(|e| err(Some(s.span()), format!("extra_privileged_groups: {e}")))?;
            extra_privileged_groups.push(sid);
        }

        let mut groups: Vec<GroupConfig> = Vec::new();
        for g in &raw.group {
            let span = Some(g.span());
            let g = g.get_ref();
            let name = g.name.trim().to_string();
            if name.is_empty() {
                return Err(err(span, "[[group]] name is empty".into()));
            }
            if groups.iter().any(|o| o.name.eq_ignore_ascii_case(&name)) {
                return Err(err(span, format!("[[group]] '{name}' is defined twice")));
            }
            if g.ou.is_none() && g.name_glob.is_none() && g.hosts.is_empty() {
                return Err(err(
                    span,
                    format!("[[group]] '{name}' selects no host: give ou, name_glob or hosts"),
                ));
            }
            let name_matcher = match &g.name_glob {
                Some(glob) => Some(
                    GlobBuilder::new(glob.get_ref())
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| {
                            err(
                                Some(glob.span()),
                                format!("[[group]] '{name}' name_glob: {e}"),
                            )
                        })?
                        .compile_matcher(),
                ),
                None => None,
            };
            groups.push(GroupConfig {
                name,
                ou: g.ou.as_ref().map(|s| s.trim().to_string()),
                name_glob: g.name_glob.as_ref().map(|s| s.get_ref().clone()),
                name_matcher,
                hosts: trimmed(&g.hosts),
                storage: trimmed(&g.storage),
            });
        }

        let mut clusters: Vec<ClusterConfig> = Vec::new();
        for c in &raw.cluster {
            let span = Some(c.span());
            let c = c.get_ref();
            let name = c.name.trim().to_string();
            if name.is_empty() {
                return Err(err(span, "[[cluster]] name is empty".into()));
            }
            if clusters.iter().any(|o| o.name.eq_ignore_ascii_case(&name)) {
                return Err(err(span, format!("[[cluster]] '{name}' is defined twice")));
            }
            if c.members.is_empty() {
                return Err(err(span, format!("[[cluster]] '{name}' has no members")));
            }
            clusters.push(ClusterConfig {
                name,
                members: trimmed(&c.members),
            });
        }

        let mut rules = RulesConfig::default();
        if let Some(r) = raw.rules {
            for id in r.disable {
                let line = line_of(text, id.span().start);
                rules.lines.insert(id.get_ref().clone(), line);
                rules.disable.push(id.into_inner());
            }
            for (id, sev) in r.severity {
                let parsed = Severity::parse(sev.get_ref()).ok_or_else(|| {
                    err(
                        Some(sev.span()),
                        format!(
                            "[rules.severity] {}: '{}' is not one of critical, high, medium, low, info",
                            id.get_ref(),
                            sev.get_ref()
                        ),
                    )
                })?;
                rules
                    .lines
                    .insert(id.get_ref().clone(), line_of(text, id.span().start));
                rules.severity.insert(id.into_inner(), parsed);
            }
        }

        Ok(Config {
            source: file.to_string(),
            lm_operators: trimmed(&raw.lm_operators),
            extra_hyperv_hosts: trimmed(&raw.extra_hyperv_hosts),
            extra_privileged_groups,
            groups,
            clusters,
            rules,
        })
    }
}

fn trimmed(v: &[String]) -> Vec<String> {
    v.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_format() {
        let text = r#"
lm_operators = ["svc-lm"]
extra_hyperv_hosts = ["HVX01"]
extra_privileged_groups = ["S-1-5-21-1-2-3-1105"]

[[group]]
name = "prod-a"
ou = "OU=HyperV-A,OU=Servers,DC=corp,DC=example"
name_glob = "HVA*"
hosts = ["HVA01", "hva02.corp.example"]
storage = ["SOFS01"]

[[cluster]]
name = "CLA"
members = ["HVA01", "HVA02"]

[rules]
disable = ["HV006"]
[rules.severity]
HV007 = "low"
"#;
        let c = Config::from_toml_str(text, "hvaudit.toml").unwrap();
        assert_eq!(c.lm_operators, vec!["svc-lm"]);
        assert_eq!(c.extra_hyperv_hosts, vec!["HVX01"]);
        assert_eq!(
            c.extra_privileged_groups[0].to_string(),
            "S-1-5-21-1-2-3-1105"
        );
        assert_eq!(c.groups.len(), 1);
        let g = &c.groups[0];
        assert_eq!(g.name, "prod-a");
        assert!(g.name_matcher.as_ref().unwrap().is_match("hva07"));
        assert!(!g.name_matcher.as_ref().unwrap().is_match("HVB01"));
        assert_eq!(g.storage, vec!["SOFS01"]);
        assert_eq!(c.clusters[0].members, vec!["HVA01", "HVA02"]);
        assert_eq!(c.rules.disable, vec!["HV006"]);
        assert_eq!(c.rules.severity["HV007"], Severity::Low);
        assert_eq!(c.rules.lines["HV006"], 18);
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let text =
            "lm_operators = []\n\n[[group]]\nname = \"a\"\nhosts = [\"x\"]\nstorge = [\"y\"]\n";
        let e = Config::from_toml_str(text, "c.toml").unwrap_err();
        assert_eq!(e.file, "c.toml");
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("storge"), "{e}");
    }

    #[test]
    fn bad_sid_severity_and_empty_group_are_errors() {
        let e =
            Config::from_toml_str("extra_privileged_groups = [\"S-1-x\"]\n", "c.toml").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(
            e.to_string()
                .starts_with("c.toml:1: extra_privileged_groups")
        );

        let e =
            Config::from_toml_str("[rules.severity]\nHV001 = \"huge\"\n", "c.toml").unwrap_err();
        assert_eq!(e.line, Some(2));

        let e = Config::from_toml_str("[[group]]\nname = \"g\"\n", "c.toml").unwrap_err();
        assert!(e.message.contains("selects no host"), "{e}");

        let e = Config::from_toml_str("[[group]]\nname = \"g\"\nname_glob = \"[\"\n", "c.toml")
            .unwrap_err();
        assert_eq!(e.line, Some(3));
    }
}
