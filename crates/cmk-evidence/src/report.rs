//! The auditor-readable report of one package: `REPORT.md` (GitHub Markdown) and `report.html` (one
//! self-contained file: inline style, no script, no external reference), built from the same [`Document`] so
//! both show the same sections in the same order. Nothing but [`ReportInput`] is read — no clock, no
//! environment — and everything is iterated in sorted order: the same input gives the same bytes.
//!
//! Every value from Azure (resource names, reasons, error messages) is untrusted: HTML-escaped in the HTML,
//! and in the Markdown put in code spans or backslash-escaped (`|` too, so a value never splits a table cell).

use std::collections::{BTreeMap, BTreeSet};

use diff::{BINDING_CLASSES, Class, Severity};
use evidence::vocab::{CoverageStatus, key_source};
use evidence::{CmkChainRow, CoverageRow, FindingRow, Timestamp};

/// Everything a report shows; nothing else is read (no clock, no environment): same input, same bytes.
#[derive(Debug)]
pub(crate) struct ReportInput<'a> {
    /// The snapshot's tables: `cmk_chain`, `findings` and `coverage` are shown, the vault and key tables counted.
    pub tables: &'a evidence::Tables,
    /// Entra tenant of the snapshot.
    pub tenant_id: &'a str,
    /// Snapshot id (`20261123T101500Z`).
    pub snapshot_id: &'a str,
    /// Snapshot time, RFC 3339.
    pub snapshot_time: &'a str,
    /// Cloud the snapshot was collected from (`public`, `china`, `usgov`, `imported`).
    pub cloud: &'a str,
    /// Collected scopes (`/subscriptions/{id}`).
    pub scopes: &'a [String],
    /// Diff against the previous package of the tenant, if any.
    pub previous: Option<&'a diff::Summary>,
    /// Why the previous package of the tenant was not compared, when there is one that could not be.
    pub previous_error: Option<&'a str>,
}

/// `REPORT.md`: GitHub-flavoured Markdown.
pub(crate) fn markdown(input: &ReportInput<'_>) -> String {
    Document::build(input).markdown()
}

/// `report.html`: one self-contained HTML file.
pub(crate) fn html(input: &ReportInput<'_>) -> String {
    Document::build(input).html()
}

/// Shown for a null value: Azure did not say, or the link could not be established. Never "no".
const NOT_REPORTED: &str = "not reported";
/// Shown in a Microsoft-managed binding's key columns, which have nothing to show.
const NOT_APPLICABLE: &str = "n/a";
/// What the rotation section says when there is nothing to compare with.
const NO_PREVIOUS: &str = "No previous package of this tenant in this archive: there is nothing to compare with.";

// ---------------------------------------------------------------------------------------------------------
// The document: what both formats show.
// ---------------------------------------------------------------------------------------------------------

/// A piece of text inside a paragraph or a table cell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Inline {
    /// Plain text (escaped on output).
    Text(String),
    /// Emphasised text.
    Strong(String),
    /// A short machine value (scope, key name, status), in monospace; not broken across lines.
    Code(String),
    /// A long identifier (ARM id, URI, version, GUID), in monospace; may break anywhere.
    Id(String),
    /// A null value.
    NotReported,
    /// Nothing to show (Microsoft-managed key).
    NotApplicable,
    /// What an absent value means where the schema gives it a meaning (`whole list`), muted.
    Muted(&'static str),
    /// A good value (`yes`, `complete`).
    Good(String),
    /// A bad value (`no`, `incomplete`), highlighted.
    Bad(String),
    /// A severity badge.
    Badge(String),
    /// A secondary line: muted, smaller, on its own line in a cell.
    Note(Vec<Inline>),
    /// A shell command, as a code block.
    Command(String),
}

type Cell = Vec<Inline>;

/// One table: an id (HTML `id`, so tests and readers can find it), a header row and body rows.
#[derive(Debug)]
struct Table {
    id: &'static str,
    head: Vec<&'static str>,
    /// Columns right-aligned (counts).
    numeric: Vec<usize>,
    /// Columns that need room (a name and its ids): given a minimum width in HTML.
    wide: Vec<usize>,
    rows: Vec<Vec<Cell>>,
}

/// One finding, shown as a table row in HTML and as a block with a code block in Markdown.
#[derive(Debug)]
struct FindingView {
    severity: String,
    rule_id: String,
    short_name: String,
    resource_id: String,
    encryption_scope: String,
    resource_type: Option<String>,
    title: String,
    evidence: Vec<String>,
    source: String,
    fix: Vec<FixPart>,
}

#[derive(Debug)]
enum Block {
    Para(Vec<Inline>),
    /// The one-paragraph verdict, set apart.
    Verdict(Vec<Inline>),
    Facts(Vec<(&'static str, Vec<Inline>)>),
    Subheading(&'static str),
    Table(Table),
    Findings(Vec<FindingView>),
    Commands(Vec<String>),
}

#[derive(Debug)]
struct Section {
    id: &'static str,
    title: &'static str,
    blocks: Vec<Block>,
}

#[derive(Debug)]
struct Document {
    title: String,
    sections: Vec<Section>,
}

fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

fn ident(s: impl Into<String>) -> Inline {
    Inline::Id(s.into())
}

fn opt_id(v: Option<&str>) -> Inline {
    v.map_or(Inline::NotReported, ident)
}

fn opt_code(v: Option<&str>) -> Inline {
    v.map_or(Inline::NotReported, code)
}

fn yes_no(v: bool) -> Inline {
    if v { Inline::Good("yes".into()) } else { Inline::Bad("no".into()) }
}

fn flag(v: Option<bool>) -> Inline {
    v.map_or(Inline::NotReported, yes_no)
}

fn note(parts: Vec<Inline>) -> Inline {
    Inline::Note(parts)
}

/// The last segment of an ARM id; for a vault or key URI, the vault name and the path after the host.
fn short_name(id: &str) -> String {
    if let Some(rest) = id.strip_prefix("https://").or_else(|| id.strip_prefix("http://")) {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let vault = host.split('.').next().unwrap_or(host);
        let path = path.trim_end_matches('/');
        return if path.is_empty() { vault.to_string() } else { format!("{vault}/{path}") };
    }
    id.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(id).to_string()
}

/// A readable name for a resource type, when this version knows it.
fn service_name(resource_type: &str) -> Option<&'static str> {
    use evidence::resource_types as t;
    let known = [
        (t::STORAGE_ACCOUNT, "Storage accounts"),
        (t::DISK_ENCRYPTION_SET, "Disk encryption sets"),
        (t::DISK, "Managed disks"),
        (t::VIRTUAL_MACHINE, "Virtual machines"),
        (t::AKS_CLUSTER, "AKS clusters"),
        (t::SQL_SERVER, "SQL servers"),
        (t::SQL_MANAGED_INSTANCE, "SQL managed instances"),
        (t::CONTAINER_REGISTRY, "Container registries"),
        (t::CONTAINER_GROUP, "Container instances"),
        (t::CONTAINER_APPS_ENVIRONMENT, "Container Apps environments"),
        (t::WEB_SITE, "App Service and Functions apps"),
        (t::KEY_VAULT, "Key vaults"),
        (t::MANAGED_HSM, "Managed HSMs"),
        (t::KEY, "Key Vault keys"),
        ("Microsoft.KeyVault/managedHSMs/keys", "Managed HSM keys"),
    ];
    known.iter().find(|(ty, _)| ty.eq_ignore_ascii_case(resource_type)).map(|(_, name)| *name)
}

/// `30s`, `12m`, `3h05m`, `2d04h`.
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// Rank for ordering findings, highest first; a severity this version does not know sorts last.
fn severity_rank(severity: &str) -> i32 {
    severity.parse::<Severity>().map_or(-1, |s| s as i32)
}

/// What each diff class means, for the rotation table.
fn class_meaning(class: Class) -> &'static str {
    match class {
        Class::Unchanged => "nothing that matters changed",
        Class::Added => "only in this snapshot",
        Class::Removed => "only in the previous snapshot",
        Class::Rotated => "same key, a newer version now in use",
        Class::RotationPending => "a newer version exists; still within the service's adoption window",
        Class::RotationStalled => "a newer version exists; the adoption window has passed",
        Class::KeyChanged => "another vault or key (or an older version) is now in use",
        Class::CmkEnabled => "Microsoft-managed before, customer-managed now",
        Class::CmkRemoved => "customer-managed before, not now",
        Class::IdentityChanged => "the identity reaching the key changed, or its crypto role did",
        Class::ProtectionWeakened => "the key's vault lost protection (purge protection, soft delete, RBAC, network)",
        Class::OldVersionDisabledInUse => "the version in use is disabled or expired",
        Class::NotComparable => "one side has a collection gap or a broken chain link",
    }
}

/// One piece of a finding's fix, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FixPart {
    /// A sentence (or what is left of it between commands), with `` `quoted` `` values as code.
    Prose(Vec<Inline>),
    /// An `az` command, shown as a code block.
    Command(String),
}

/// Trims what a command taken out of a sentence leaves behind: spaces, and a `.`, `;` or `,` that only ended
/// the command.
fn tidy_prose(parts: &mut Vec<Inline>) {
    if let Some(Inline::Text(first)) = parts.first_mut() {
        *first = first.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ';' | ',')).to_string();
    }
    if let Some(Inline::Text(last)) = parts.last_mut() {
        *last = last.trim_end().to_string();
    }
    parts.retain(|p| !matches!(p, Inline::Text(t) if t.is_empty()));
}

/// Splits a finding's fix into prose and `az` commands, keeping their order: a line starting with `az ` (or
/// `$ az `) is a command, and a line ending in `\` continues it; in a sentence, `` `az ...` `` is a command and
/// any other `` `...` `` a code value; `...: az ...` without quotes ends the sentence with a command.
fn fix_parts(fix: &str) -> Vec<FixPart> {
    let mut parts: Vec<FixPart> = Vec::new();
    let mut prose: Vec<Inline> = Vec::new();
    let flush = |prose: &mut Vec<Inline>, parts: &mut Vec<FixPart>| {
        tidy_prose(prose);
        if !prose.is_empty() {
            parts.push(FixPart::Prose(std::mem::take(prose)));
        }
        prose.clear();
    };
    let mut continuing = false;
    for line in fix.lines() {
        let trimmed = line.trim();
        let bare = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        if continuing {
            if let Some(FixPart::Command(last)) = parts.last_mut() {
                last.push('\n');
                last.push_str(line.trim_end());
            }
            continuing = bare.ends_with('\\');
            continue;
        }
        if bare.is_empty() {
            continue;
        }
        if bare.starts_with("az ") {
            flush(&mut prose, &mut parts);
            parts.push(FixPart::Command(bare.to_string()));
            continuing = bare.ends_with('\\');
            continue;
        }
        if !prose.is_empty() {
            prose.push(text(" "));
        }
        let mut rest = bare;
        while let Some(open) = rest.find('`') {
            let Some(len) = rest[open + 1..].find('`') else { break };
            let quoted = &rest[open + 1..open + 1 + len];
            prose.push(text(&rest[..open]));
            if quoted.starts_with("az ") {
                flush(&mut prose, &mut parts);
                parts.push(FixPart::Command(quoted.to_string()));
            } else {
                prose.push(code(quoted));
            }
            rest = &rest[open + 2 + len..];
        }
        if let Some(at) = rest.find(": az ") {
            prose.push(text(&rest[..=at]));
            flush(&mut prose, &mut parts);
            let command = &rest[at + 2..];
            parts.push(FixPart::Command(command.to_string()));
            continuing = command.ends_with('\\');
        } else {
            prose.push(text(rest));
        }
    }
    flush(&mut prose, &mut parts);
    parts
}

#[derive(Debug, Default)]
struct BindingCounts {
    resources: BTreeSet<String>,
    bindings: u64,
    customer: u64,
    microsoft: u64,
    unknown: u64,
    complete: u64,
}

impl BindingCounts {
    fn add(&mut self, c: &CmkChainRow) {
        self.resources.insert(c.resource_id.clone());
        self.bindings += 1;
        match c.key_source.as_deref() {
            Some(key_source::CUSTOMER_MANAGED) => {
                self.customer += 1;
                if c.chain_status == "complete" {
                    self.complete += 1;
                }
            }
            Some(key_source::MICROSOFT_MANAGED) => self.microsoft += 1,
            _ => self.unknown += 1,
        }
    }
}

fn is_cmk(c: &CmkChainRow) -> bool {
    c.key_source.as_deref() == Some(key_source::CUSTOMER_MANAGED)
}

fn is_microsoft_managed(c: &CmkChainRow) -> bool {
    c.key_source.as_deref() == Some(key_source::MICROSOFT_MANAGED)
}

/// A coverage row that says something was not collected (anything but `not_supported` / `not_assessed`;
/// a status this version does not know counts as a gap).
fn is_gap(c: &CoverageRow) -> bool {
    !matches!(CoverageStatus::parse(&c.status), Some(CoverageStatus::NotSupported | CoverageStatus::NotAssessed))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Document {
    fn build(input: &ReportInput<'_>) -> Self {
        let t = input.tables;
        let mut chain: Vec<&CmkChainRow> = t.cmk_chain.iter().collect();
        chain.sort_by(|a, b| {
            (&a.resource_type, &a.resource_name, &a.resource_id, &a.encryption_scope, a).cmp(&(
                &b.resource_type,
                &b.resource_name,
                &b.resource_id,
                &b.encryption_scope,
                b,
            ))
        });
        let mut findings: Vec<&FindingRow> = t.findings.iter().collect();
        findings.sort_by(|a, b| {
            severity_rank(&b.severity).cmp(&severity_rank(&a.severity)).then_with(|| {
                (&a.rule_id, &a.resource_id, &a.encryption_scope, *a).cmp(&(
                    &b.rule_id,
                    &b.resource_id,
                    &b.encryption_scope,
                    *b,
                ))
            })
        });
        let mut coverage: Vec<&CoverageRow> = t.coverage.iter().collect();
        coverage.sort_by(|a, b| {
            (&a.status, &a.resource_type, &a.subscription_id, &a.resource_id, *a).cmp(&(
                &b.status,
                &b.resource_type,
                &b.subscription_id,
                &b.resource_id,
                *b,
            ))
        });

        let snapshot_at = Timestamp::parse(input.snapshot_time);
        let sections = vec![
            overview(input, &chain, &findings, &coverage),
            services(&chain, &findings),
            findings_section(&findings, &chain),
            chain_section(&chain, snapshot_at),
            coverage_section(&coverage),
            rotation(input.previous, input.previous_error),
            verify(input),
        ];
        Self {
            title: format!("CMK evidence report — tenant {}, snapshot {}", input.tenant_id, input.snapshot_id),
            sections,
        }
    }
}

fn overview(
    input: &ReportInput<'_>,
    chain: &[&CmkChainRow],
    findings: &[&FindingRow],
    coverage: &[&CoverageRow],
) -> Section {
    let t = input.tables;
    let mut all = BindingCounts::default();
    chain.iter().for_each(|c| all.add(c));
    let mut scopes: Vec<&String> = input.scopes.iter().collect();
    scopes.sort();
    let mut scope_cell: Vec<Inline> = Vec::new();
    for (i, s) in scopes.iter().enumerate() {
        if i > 0 {
            scope_cell.push(text(", "));
        }
        scope_cell.push(ident(s.as_str()));
    }
    if scope_cell.is_empty() {
        scope_cell.push(Inline::NotReported);
    }
    let counts = format!(
        "{} on {}; {}, {}, {}, {}; {}; {}",
        plural(all.bindings, "binding", "bindings"),
        plural(all.resources.len() as u64, "resource", "resources"),
        plural(t.key_vaults.len() as u64, "key vault", "key vaults"),
        plural(t.managed_hsms.len() as u64, "managed HSM", "managed HSMs"),
        plural(t.keys.len() as u64, "key", "keys"),
        plural(t.key_versions.len() as u64, "key version", "key versions"),
        plural(findings.len() as u64, "finding", "findings"),
        plural(coverage.len() as u64, "coverage row", "coverage rows"),
    );
    let facts = vec![
        ("Tenant", vec![code(input.tenant_id)]),
        ("Snapshot", vec![code(input.snapshot_id), text(format!(" taken at {}", input.snapshot_time))]),
        ("Cloud", vec![code(input.cloud)]),
        ("Scopes", scope_cell),
        ("Counts", vec![text(counts)]),
    ];

    // Every known severity, zero or not; a severity this version does not know is counted under its own name.
    let mut by_severity: BTreeMap<(i32, String), u64> = BTreeMap::new();
    for s in Severity::ALL {
        by_severity.insert((s as i32, s.as_str().to_string()), 0);
    }
    for f in findings {
        let name = match f.severity.parse::<Severity>() {
            Ok(s) => s.as_str().to_string(),
            Err(_) => f.severity.clone(),
        };
        *by_severity.entry((severity_rank(&f.severity), name)).or_default() += 1;
    }
    let severity_text: Vec<String> = by_severity.iter().rev().map(|((_, name), n)| format!("{n} {name}")).collect();

    let mut gaps: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut not_supported, mut not_assessed) = (0u64, 0u64);
    for c in coverage {
        match CoverageStatus::parse(&c.status) {
            Some(CoverageStatus::NotSupported) => not_supported += 1,
            Some(CoverageStatus::NotAssessed) => not_assessed += 1,
            _ => *gaps.entry(c.status.as_str()).or_default() += 1,
        }
    }
    let gap_total: u64 = gaps.values().sum();
    let gap_text = if gap_total == 0 {
        "no collection gaps: every request succeeded".to_string()
    } else {
        let parts: Vec<String> = gaps.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!(
            "{} ({}) — what they hide is not claimed either way",
            plural(gap_total, "collection gap", "collection gaps"),
            parts.join(", ")
        )
    };
    let incomplete = all.customer - all.complete;
    let verdict = format!(
        "This snapshot records {} on {}: {} use a customer-managed key, {} a Microsoft-managed key, and for {} \
         the key source was not reported or not recognised. {} of the {} customer-managed chains are complete \
         from the resource through the key to the identity's crypto role; {} incomplete (the missing links are \
         named in section 3). Findings: {}. Coverage: {}; {} of services that offer no customer-managed key; {} of \
         types this version does not assess.",
        plural(all.bindings, "encryption binding", "encryption bindings"),
        plural(all.resources.len() as u64, "resource", "resources"),
        all.customer,
        all.microsoft,
        all.unknown,
        all.complete,
        all.customer,
        if incomplete == 1 { "1 is".to_string() } else { format!("{incomplete} are") },
        severity_text.join(", "),
        gap_text,
        plural(not_supported, "resource", "resources"),
        plural(not_assessed, "resource", "resources"),
    );
    Section {
        id: "overview",
        title: "Overview",
        blocks: vec![
            Block::Facts(facts),
            Block::Verdict(vec![Inline::Strong("Verdict.".into()), text(format!(" {verdict}"))]),
        ],
    }
}

fn services(chain: &[&CmkChainRow], findings: &[&FindingRow]) -> Section {
    #[derive(Default)]
    struct Service {
        counts: BindingCounts,
        findings: u64,
        critical: u64,
        high: u64,
    }
    // Findings without a resource type are counted on a row of their own, the last.
    let mut by_type: BTreeMap<(bool, &str), Service> = BTreeMap::new();
    for c in chain {
        by_type.entry((false, c.resource_type.as_str())).or_default().counts.add(c);
    }
    for f in findings {
        let key = f.resource_type.as_deref().map_or((true, ""), |t| (false, t));
        let service = by_type.entry(key).or_default();
        service.findings += 1;
        match f.severity.parse::<Severity>() {
            Ok(Severity::Critical) => service.critical += 1,
            Ok(Severity::High) => service.high += 1,
            _ => {}
        }
    }
    let rows: Vec<Vec<Cell>> = by_type
        .iter()
        .map(|((untyped, ty), s)| {
            let name = match (!untyped).then_some(*ty) {
                Some(ty) => {
                    let mut cell = vec![text(service_name(ty).unwrap_or(ty))];
                    cell.push(note(vec![code(ty)]));
                    cell
                }
                None => vec![text("Resource type "), Inline::NotReported],
            };
            let c = &s.counts;
            vec![
                name,
                vec![text(c.resources.len().to_string())],
                vec![text(c.bindings.to_string())],
                vec![text(c.customer.to_string())],
                vec![text(c.microsoft.to_string())],
                vec![text(c.unknown.to_string())],
                vec![text(format!("{} of {}", c.complete, c.customer))],
                vec![text(s.findings.to_string())],
                vec![text(s.critical.to_string())],
                vec![text(s.high.to_string())],
            ]
        })
        .collect();
    let mut blocks = vec![Block::Para(vec![text(
        "One row per resource type: resources and encryption bindings (resource × what the key protects), by \
         key source; complete chains out of the customer-managed ones; findings, and how many of them are \
         critical or high.",
    )])];
    if rows.is_empty() {
        blocks.push(Block::Para(vec![text("No resource with an encryption setting was collected.")]));
    } else {
        blocks.push(Block::Table(Table {
            id: "t-services",
            head: vec![
                "Service",
                "Resources",
                "Bindings",
                "Customer-managed",
                "Microsoft-managed",
                "Key source not reported",
                "Complete chains",
                "Findings",
                "of them critical",
                "of them high",
            ],
            numeric: vec![1, 2, 3, 4, 5, 6, 7, 8, 9],
            wide: vec![],
            rows,
        }));
    }
    Section { id: "services", title: "Summary per service", blocks }
}

fn findings_section(findings: &[&FindingRow], chain: &[&CmkChainRow]) -> Section {
    // A finding about a resource of the chain is named as the chain names it (a name may hold a `/`).
    let names: BTreeMap<&str, &str> =
        chain.iter().map(|c| (c.resource_id.as_str(), c.resource_name.as_str())).collect();
    let mut blocks = Vec::new();
    if findings.is_empty() {
        blocks.push(Block::Para(vec![text("No findings: no rule fired on this snapshot.")]));
    } else {
        blocks.push(Block::Para(vec![text(
            "Highest severity first. Evidence names the table and column each fact comes from; the fix is the \
             command that corrects it.",
        )]));
        let views = findings
            .iter()
            .take(FINDINGS_SHOWN)
            .map(|f| FindingView {
                severity: f.severity.clone(),
                rule_id: f.rule_id.clone(),
                short_name: names
                    .get(f.resource_id.as_str())
                    .map_or_else(|| short_name(&f.resource_id), |n| n.to_string()),
                resource_id: f.resource_id.clone(),
                encryption_scope: f.encryption_scope.clone(),
                resource_type: f.resource_type.clone(),
                title: f.title.clone(),
                evidence: f.evidence.clone(),
                source: f.source.clone(),
                fix: fix_parts(&f.fix),
            })
            .collect();
        blocks.push(Block::Findings(views));
        if findings.len() > FINDINGS_SHOWN {
            blocks.push(Block::Para(vec![text(format!(
                "The first {FINDINGS_SHOWN} of {} findings (highest severity first) are shown; every finding is in \
                 tables/findings.parquet and `cmk-evidence findings` prints them all.",
                findings.len()
            ))]));
        }
    }
    Section { id: "findings", title: "Findings", blocks }
}

/// Findings shown at most (highest severity first); every one is in `tables/findings.parquet`.
const FINDINGS_SHOWN: usize = 2_000;

/// Chain rows shown at most: about 1.5 KB of HTML each, so a report stays readable (and a few MB) however
/// large the tenant; every row is in `tables/cmk_chain.parquet`.
const CHAIN_ROWS_SHOWN: usize = 5_000;

fn chain_section(chain: &[&CmkChainRow], snapshot_at: Option<Timestamp>) -> Section {
    let rows: Vec<Vec<Cell>> = chain.iter().take(CHAIN_ROWS_SHOWN).map(|c| chain_row(c, snapshot_at)).collect();
    let mut blocks = vec![Block::Para(vec![
        text("One row per resource and encryption scope. "),
        Inline::NotReported,
        text(
            " means Azure did not say or the link could not be established (the chain column names which); it \
             never means no. ",
        ),
        Inline::NotApplicable,
        text(" marks the key columns of a Microsoft-managed binding. Configured version "),
        Inline::Strong("latest".into()),
        text(" means the resource follows the newest version by itself."),
    ])];
    if rows.is_empty() {
        blocks.push(Block::Para(vec![text("No binding was collected.")]));
    } else {
        blocks.push(Block::Table(Table {
            id: "t-chain",
            head: vec![
                "Resource",
                "Scope",
                "Key source",
                "Vault",
                "Key",
                "Configured version",
                "Version in use",
                "Latest version",
                "In use is latest",
                "Key enabled / expires",
                "Rotation policy",
                "Soft delete",
                "Purge protection",
                "Identity",
                "Crypto role",
                "Chain",
            ],
            numeric: vec![],
            wide: vec![13],
            rows,
        }));
    }
    if chain.len() > CHAIN_ROWS_SHOWN {
        blocks.push(Block::Para(vec![text(format!(
            "The first {CHAIN_ROWS_SHOWN} of {} rows are shown; every row is in tables/cmk_chain.parquet.",
            chain.len()
        ))]));
    }
    Section { id: "chain", title: "CMK chain per resource", blocks }
}

fn chain_row(c: &CmkChainRow, snapshot_at: Option<Timestamp>) -> Vec<Cell> {
    let mm = is_microsoft_managed(c);
    // A Microsoft-managed binding has no key chain: its empty key columns say so instead of "not reported";
    // a value Azure did give is still shown.
    let keyed =
        |v: Inline| -> Inline { if mm && matches!(v, Inline::NotReported) { Inline::NotApplicable } else { v } };
    // Name, type, resource group and subscription say which resource it is as exactly as the id, in less room.
    let mut resource = vec![
        Inline::Strong(c.resource_name.clone()),
        note(vec![text(service_name(&c.resource_type).unwrap_or(&c.resource_type))]),
    ];
    match evidence::ids::resource_group_of(&c.resource_id) {
        Some(rg) => resource.push(note(vec![text("group "), code(rg)])),
        None => resource.push(note(vec![ident(c.resource_id.as_str())])),
    }
    resource.push(note(vec![text("subscription "), ident(c.subscription_id.as_str())]));
    let key_source_cell = vec![match c.key_source.as_deref() {
        Some(key_source::CUSTOMER_MANAGED) => text("customer-managed"),
        Some(key_source::MICROSOFT_MANAGED) => text("Microsoft-managed"),
        Some(other) => code(other),
        None => Inline::NotReported,
    }];
    let vault = match c.key_vault_uri.as_deref() {
        Some(uri) => {
            let mut cell = vec![code(short_name(uri))];
            match c.vault_kind.as_deref() {
                Some("managed_hsm") => cell.push(note(vec![text("Managed HSM")])),
                Some("key_vault") => cell.push(note(vec![text("Key Vault")])),
                Some(other) => cell.push(note(vec![code(other)])),
                None => {}
            }
            cell
        }
        None => vec![keyed(Inline::NotReported)],
    };
    let key = match c.key_name.as_deref() {
        Some(name) => {
            let mut cell = vec![code(name)];
            let ty = match (c.key_type.as_deref(), c.key_size) {
                (Some(t), Some(s)) => Some(format!("{t} {s}")),
                (Some(t), None) => Some(t.to_string()),
                (None, Some(s)) => Some(format!("{s} bits")),
                (None, None) => None,
            };
            if let Some(ty) = ty {
                cell.push(note(vec![text(ty)]));
            }
            if let Some(via) = c.key_via_resource_id.as_deref() {
                cell.push(note(vec![text("via "), code(short_name(via))]));
            }
            cell
        }
        None => vec![keyed(Inline::NotReported)],
    };
    let configured = match (c.configured_key_version.as_deref(), is_cmk(c) && c.key_name.is_some()) {
        (Some(v), _) => vec![ident(v)],
        (None, true) => vec![Inline::Strong("latest".into())],
        (None, false) => vec![keyed(Inline::NotReported)],
    };
    let mut is_latest = vec![keyed(flag(c.in_use_is_latest))];
    if c.in_use_is_latest == Some(false)
        && let Some(lag) = c.rotation_lag_seconds.filter(|s| *s > 0)
    {
        is_latest.push(note(vec![text(format!("newest is {} old", duration(lag)))]));
    }
    let mut enabled = vec![keyed(flag(c.key_enabled))];
    match c.key_expires_at {
        Some(at) => {
            let at_text = at.to_string();
            let (date, time) = at_text.split_once('T').unwrap_or((&at_text, ""));
            enabled.push(note(vec![text("expires "), code(date), text(" "), code(time)]));
            if snapshot_at.is_some_and(|now| at <= now) {
                enabled.push(note(vec![Inline::Bad("expired at snapshot time".into())]));
            }
        }
        None if !mm => enabled.push(note(vec![text("expiry "), Inline::NotReported])),
        None => {}
    }
    let mut soft_delete = vec![keyed(flag(c.vault_soft_delete))];
    if let Some(days) = c.vault_soft_delete_retention_days {
        soft_delete.push(note(vec![text(format!("{days} days"))]));
    }
    let identity = match c.identity_type.as_deref() {
        None => vec![keyed(Inline::NotReported)],
        Some(ty) => {
            let mut cell = vec![match ty {
                "system_assigned" => text("system-assigned"),
                "user_assigned" => text("user-assigned"),
                "none" => Inline::Strong("none".into()),
                other => code(other),
            }];
            if let Some(id) = c.identity_resource_id.as_deref() {
                cell.push(note(vec![code(short_name(id))]));
            }
            if let Some(p) = c.identity_principal_id.as_deref() {
                cell.push(note(vec![text("principal "), ident(p)]));
            }
            if let Some(f) = c.federated_client_id.as_deref() {
                cell.push(note(vec![text("federated app "), ident(f)]));
            }
            cell
        }
    };
    let mut role = vec![keyed(flag(c.identity_has_crypto_role))];
    if let Some(roles) = c.crypto_roles.as_ref().filter(|r| !r.is_empty()) {
        let mut roles: Vec<&String> = roles.iter().collect();
        roles.sort();
        let mut parts = Vec::new();
        for (i, r) in roles.iter().enumerate() {
            if i > 0 {
                parts.push(text("; "));
            }
            parts.push(text(r.as_str()));
        }
        role.push(note(parts));
    }
    let mut status = vec![match c.chain_status.as_str() {
        "complete" => Inline::Good("complete".into()),
        "incomplete" => Inline::Bad("incomplete".into()),
        "microsoft_managed" => text("Microsoft-managed (no chain)"),
        other => code(other),
    }];
    if let Some(gaps) = c.chain_gaps.as_ref().filter(|g| !g.is_empty()) {
        let mut gaps: Vec<&String> = gaps.iter().collect();
        gaps.sort();
        for g in gaps {
            status.push(note(vec![ident(g.as_str())]));
        }
    }
    vec![
        resource,
        vec![code(c.encryption_scope.as_str())],
        key_source_cell,
        vault,
        key,
        configured,
        vec![keyed(opt_id(c.in_use_key_version.as_deref()))],
        vec![keyed(opt_id(c.latest_key_version.as_deref()))],
        is_latest,
        enabled,
        vec![keyed(flag(c.rotation_policy_present))],
        soft_delete,
        vec![keyed(flag(c.vault_purge_protection))],
        identity,
        role,
        status,
    ]
}

fn coverage_section(coverage: &[&CoverageRow]) -> Section {
    let mut blocks = vec![Block::Subheading("Collection gaps")];
    let gaps: Vec<&&CoverageRow> = coverage.iter().filter(|c| is_gap(c)).collect();
    if gaps.is_empty() {
        blocks.push(Block::Para(vec![text(
            "None: every request succeeded, so this package claims completeness for what it collected.",
        )]));
    } else {
        blocks.push(Block::Para(vec![text(
            "What could not be read (denied, not found, throttled, error). Nothing behind a gap is reported as \
             missing or present.",
        )]));
        let rows = gaps
            .iter()
            .map(|c| {
                vec![
                    vec![Inline::Strong(c.status.clone())],
                    vec![code(c.resource_type.as_str())],
                    // The schema gives these nulls a meaning: not tied to a subscription; a whole list failed.
                    vec![c.subscription_id.as_deref().map_or(Inline::Muted("none"), ident)],
                    vec![c.resource_id.as_deref().map_or(Inline::Muted("the whole list"), ident)],
                    vec![c.http_status.map_or(Inline::NotReported, |s| text(s.to_string()))],
                    vec![opt_code(c.error_code.as_deref())],
                    vec![text(c.reason.as_str())],
                ]
            })
            .collect();
        blocks.push(Block::Table(Table {
            id: "t-gaps",
            head: vec!["Status", "Resource type", "Subscription", "Resource", "HTTP status", "Error code", "Reason"],
            numeric: vec![4],
            wide: vec![],
            rows,
        }));
    }

    blocks.push(Block::Subheading("Services without customer-managed keys"));
    let unsupported: Vec<&&CoverageRow> =
        coverage.iter().filter(|c| CoverageStatus::parse(&c.status) == Some(CoverageStatus::NotSupported)).collect();
    if unsupported.is_empty() {
        blocks.push(Block::Para(vec![text("None collected.")]));
    } else {
        blocks.push(Block::Para(vec![text(
            "Resources of services that offer no customer-managed key for data at rest: not a missing key, and \
             not counted as one.",
        )]));
        let rows = unsupported
            .iter()
            .map(|c| {
                let resource = match c.resource_id.as_deref() {
                    Some(id) => vec![Inline::Strong(short_name(id)), note(vec![ident(id)])],
                    None => vec![Inline::NotReported],
                };
                vec![
                    vec![
                        text(service_name(&c.resource_type).unwrap_or(&c.resource_type)),
                        note(vec![code(c.resource_type.as_str())]),
                    ],
                    resource,
                    vec![text(c.reason.as_str())],
                ]
            })
            .collect();
        blocks.push(Block::Table(Table {
            id: "t-not-supported",
            head: vec!["Service", "Resource", "Reason"],
            numeric: vec![],
            wide: vec![],
            rows,
        }));
    }

    blocks.push(Block::Subheading("Not assessed"));
    let mut not_assessed: BTreeMap<&str, u64> = BTreeMap::new();
    for c in coverage.iter().filter(|c| CoverageStatus::parse(&c.status) == Some(CoverageStatus::NotAssessed)) {
        *not_assessed.entry(c.resource_type.as_str()).or_default() += 1;
    }
    if not_assessed.is_empty() {
        blocks.push(Block::Para(vec![text("None: every resource listed is of a type this version assesses.")]));
    } else {
        blocks.push(Block::Para(vec![text(
            "Resources seen in the subscriptions whose type this version does not assess, counted per type.",
        )]));
        let rows = not_assessed.iter().map(|(ty, n)| vec![vec![code(*ty)], vec![text(n.to_string())]]).collect();
        blocks.push(Block::Table(Table {
            id: "t-not-assessed",
            head: vec!["Resource type", "Resources"],
            numeric: vec![1],
            wide: vec![],
            rows,
        }));
    }
    Section { id: "coverage", title: "Coverage", blocks }
}

fn rotation(previous: Option<&diff::Summary>, error: Option<&str>) -> Section {
    let Some(s) = previous else {
        let said = match error {
            Some(why) => format!("The previous package of this tenant was not compared: {why}"),
            None => NO_PREVIOUS.to_string(),
        };
        return Section {
            id: "rotation",
            title: "Rotation since the previous package",
            blocks: vec![Block::Para(vec![text(said)])],
        };
    };
    let mut blocks = vec![Block::Para(vec![
        text("Compared with the previous package "),
        code(s.before_snapshot_id.as_str()),
        text(" (this one: "),
        code(s.after_snapshot_id.as_str()),
        text(format!("): {} compared. Rows per severity: ", plural(s.bindings, "binding", "bindings"))),
        text(
            Severity::ALL
                .iter()
                .rev()
                .map(|sev| format!("{} {}", s.by_severity.get(sev).copied().unwrap_or(0), sev.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        text("."),
    ])];
    let rows = BINDING_CLASSES
        .iter()
        .map(|class| {
            vec![
                vec![code(class.as_str())],
                vec![text(s.by_class.get(class).copied().unwrap_or(0).to_string())],
                vec![text(class_meaning(*class))],
            ]
        })
        .collect();
    blocks.push(Block::Table(Table {
        id: "t-rotation-classes",
        head: vec!["Class", "Bindings", "Meaning"],
        numeric: vec![1],
        wide: vec![],
        rows,
    }));
    if !s.other_changes.is_empty() {
        blocks.push(Block::Subheading("Vaults, key versions and role assignments"));
        let rows =
            s.other_changes.iter().map(|(k, n)| vec![vec![code(k.as_str())], vec![text(n.to_string())]]).collect();
        blocks.push(Block::Table(Table {
            id: "t-rotation-other",
            head: vec!["Change", "Count"],
            numeric: vec![1],
            wide: vec![],
            rows,
        }));
    }
    blocks.push(Block::Subheading("Needs attention"));
    if s.attention.is_empty() {
        blocks.push(Block::Para(vec![text("No change at low severity or above.")]));
    } else {
        let rows = s
            .attention
            .iter()
            .map(|a| {
                let mut resource =
                    vec![Inline::Strong(short_name(&a.resource_id)), note(vec![ident(a.resource_id.as_str())])];
                if let Some(scope) = a.encryption_scope.as_deref() {
                    resource.push(note(vec![text("scope "), code(scope)]));
                }
                let changes = a.changes.iter().map(|c| note(vec![text(c.as_str())])).collect();
                vec![
                    vec![Inline::Badge(a.severity.as_str().to_string())],
                    vec![code(a.class.as_str())],
                    vec![text(a.subject.as_str())],
                    resource,
                    changes,
                ]
            })
            .collect();
        blocks.push(Block::Table(Table {
            id: "t-rotation-attention",
            head: vec!["Severity", "Class", "Subject", "Resource", "What changed"],
            numeric: vec![],
            wide: vec![],
            rows,
        }));
        if s.attention_omitted > 0 {
            blocks.push(Block::Para(vec![text(format!(
                "{} more rows need attention; all are in the diff's diff.parquet.",
                s.attention_omitted
            ))]));
        }
    }
    Section { id: "rotation", title: "Rotation since the previous package", blocks }
}

fn verify(input: &ReportInput<'_>) -> Section {
    let folder = format!("{}/{}", input.tenant_id, input.snapshot_id);
    Section {
        id: "verify",
        title: "How to verify this package",
        blocks: vec![
            Block::Para(vec![
                text("This report is a file of the package "),
                code(folder.as_str()),
                text(
                    ": manifest.json and SHA256SUMS list it with its SHA-256, and manifest.sig signs manifest.json, \
                     so the signature covers it and every table. With the signer's public key (signer.pub.pem) \
                     obtained from its owner, not from the package:",
                ),
            ]),
            Block::Commands(vec![
                format!("# in the package folder, {folder}"),
                "sha256sum -c SHA256SUMS".to_string(),
                "openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin -in manifest.json -sigfile manifest.sig"
                    .to_string(),
                format!("# in the archive folder that holds {}/", input.tenant_id),
                format!("cmk-evidence verify {folder} --public-key signer.pub.pem"),
                format!("cmk-evidence verify --chain {} --public-key signer.pub.pem", input.tenant_id),
            ]),
            Block::Para(vec![text(
                "The first checks every listed file; the second the Ed25519 signature over the manifest (manifest.sig.json \
                 names the signer and algorithm; a package signed with an Azure Key Vault key — ES256, RS256, PS256 — \
                 is checked with cmk-evidence verify --trusted-key-id <key id>); the third does both and checks every \
                 table's schema; the fourth also checks the hash chain to the tenant's earlier packages. The tables \
                 themselves are Parquet files under tables/, readable by DuckDB, pyarrow or Spark.",
            )]),
        ],
    }
}

// ---------------------------------------------------------------------------------------------------------
// Markdown.
// ---------------------------------------------------------------------------------------------------------

/// Escapes text for Markdown: backslash before every character that could start markup, `_` only at a word
/// boundary (GitHub ignores it inside words, and `customer_managed` stays readable); newlines become spaces.
fn md_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &ch) in chars.iter().enumerate() {
        match ch {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            '_' => {
                let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
                if !(word(i.checked_sub(1).and_then(|j| chars.get(j))) && word(chars.get(i + 1))) {
                    out.push('\\');
                }
                out.push('_');
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// A code span holding `s` verbatim: fenced by more backticks than any run inside it, `|` escaped (GitHub
/// splits table cells before it reads code spans), newlines as spaces.
fn md_code(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ");
    let mut longest = 0;
    let mut run = 0;
    for ch in s.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let body = s.replace('|', "\\|");
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

fn md_inline(parts: &[Inline], out: &mut String) {
    for part in parts {
        match part {
            Inline::Text(s) => out.push_str(&md_text(s)),
            Inline::Strong(s) => {
                out.push_str("**");
                out.push_str(&md_text(s));
                out.push_str("**");
            }
            Inline::Code(s) | Inline::Id(s) => out.push_str(&md_code(s)),
            Inline::NotReported => out.push_str(NOT_REPORTED),
            Inline::NotApplicable => out.push_str(NOT_APPLICABLE),
            Inline::Muted(s) => out.push_str(s),
            Inline::Good(s) => out.push_str(&md_text(s)),
            Inline::Bad(s) => {
                out.push_str("**");
                out.push_str(&md_text(s));
                out.push_str("**");
            }
            Inline::Badge(s) => {
                out.push_str("**");
                out.push_str(&md_text(&s.to_ascii_uppercase()));
                out.push_str("**");
            }
            Inline::Note(inner) => {
                out.push_str("<br>");
                md_inline(inner, out);
            }
            Inline::Command(s) => out.push_str(&md_code(s)),
        }
    }
}

fn md_fenced(command: &str, indent: &str, out: &mut String) {
    let mut longest = 0;
    let mut run = 0;
    for ch in command.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    out.push_str(&format!("{indent}{fence}sh\n"));
    for line in command.lines() {
        out.push_str(indent);
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("{indent}{fence}\n"));
}

impl Document {
    fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("# {}\n", md_text(&self.title)));
        for (n, section) in self.sections.iter().enumerate() {
            if n == 0 {
                out.push('\n');
            } else {
                out.push_str(&format!("## {n}. {}\n\n", section.title));
            }
            for block in &section.blocks {
                md_block(block, &mut out);
            }
        }
        out
    }
}

fn md_block(block: &Block, out: &mut String) {
    match block {
        Block::Para(parts) | Block::Verdict(parts) => {
            md_inline(parts, out);
            out.push_str("\n\n");
        }
        Block::Facts(facts) => {
            for (label, value) in facts {
                out.push_str(&format!("- **{label}:** "));
                md_inline(value, out);
                out.push('\n');
            }
            out.push('\n');
        }
        Block::Subheading(title) => out.push_str(&format!("### {title}\n\n")),
        Block::Table(table) => {
            out.push_str(&format!("| {} |\n", table.head.join(" | ")));
            let align: Vec<&str> =
                (0..table.head.len()).map(|i| if table.numeric.contains(&i) { "---:" } else { "---" }).collect();
            out.push_str(&format!("|{}|\n", align.join("|")));
            for row in &table.rows {
                out.push('|');
                for cell in row {
                    let mut text = String::new();
                    md_inline(cell, &mut text);
                    // A cell that starts with a secondary line has nothing to break from.
                    out.push(' ');
                    out.push_str(text.strip_prefix("<br>").unwrap_or(&text));
                    out.push_str(" |");
                }
                out.push('\n');
            }
            out.push('\n');
        }
        Block::Findings(findings) => {
            for (i, f) in findings.iter().enumerate() {
                out.push_str(&format!(
                    "### {}. {} {} — {}\n\n",
                    i + 1,
                    md_text(&f.severity.to_ascii_uppercase()),
                    md_code(&f.rule_id),
                    md_text(&f.short_name)
                ));
                out.push_str(&format!("**{}**\n\n", md_text(&f.title)));
                out.push_str(&format!("- Resource: {}", md_code(&f.resource_id)));
                if !f.encryption_scope.is_empty() {
                    out.push_str(&format!(" (scope {})", md_code(&f.encryption_scope)));
                }
                if let Some(ty) = &f.resource_type {
                    out.push_str(&format!(", {}", md_code(ty)));
                }
                out.push('\n');
                out.push_str("- Evidence:");
                if f.evidence.is_empty() {
                    out.push_str(" none recorded\n");
                } else {
                    out.push('\n');
                    for e in &f.evidence {
                        out.push_str(&format!("  - {}\n", md_code(e)));
                    }
                }
                out.push_str(&format!("- Source: {}\n", md_text(&f.source)));
                out.push_str("- Fix:");
                for (i, part) in f.fix.iter().enumerate() {
                    match part {
                        FixPart::Prose(inline) => {
                            out.push_str(if i == 0 { " " } else { "\n  " });
                            md_inline(inline, out);
                            out.push('\n');
                        }
                        FixPart::Command(command) => {
                            if i == 0 {
                                out.push('\n');
                            }
                            out.push('\n');
                            md_fenced(command, "  ", out);
                        }
                    }
                }
                if f.fix.is_empty() {
                    out.push_str(" none given\n");
                }
                out.push('\n');
            }
        }
        Block::Commands(commands) => {
            md_fenced(&commands.join("\n"), "", out);
            out.push('\n');
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// HTML.
// ---------------------------------------------------------------------------------------------------------

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The CSS class of a severity badge; only known severities name a class.
fn badge_class(severity: &str) -> &'static str {
    match severity.parse::<Severity>() {
        Ok(Severity::Critical) => "sev-critical",
        Ok(Severity::High) => "sev-high",
        Ok(Severity::Medium) => "sev-medium",
        Ok(Severity::Low) => "sev-low",
        Ok(Severity::Info) => "sev-info",
        Err(_) => "sev-unknown",
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; background: #fff; margin: 20px 24px; }
h1 { font-size: 21px; margin: 0 0 10px; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 14px; margin: 16px 0 6px; }
p { margin: 6px 0 10px; max-width: 1150px; }
nav ol { margin: 4px 0 12px; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: #0969da; text-decoration: none; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dl.facts dt { color: #59636e; font-weight: 600; }
dl.facts dd { margin: 0; }
p.verdict { border-left: 4px solid #0969da; background: #f6f8fa; padding: 9px 13px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 12px; }
th, td { border: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
thead th { background: #e8ecf0; position: sticky; top: 0; font-weight: 600; }
tbody tr:nth-child(even) { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .92em;
  white-space: nowrap; }
code.id { white-space: normal; overflow-wrap: anywhere; }
td.wide { min-width: 120px; }
td.nowrap { white-space: nowrap; }
table#t-chain { font-size: 11px; }
table#t-chain td { padding: 3px 4px; }
.note { display: block; color: #59636e; font-size: .9em; }
.nr { color: #6e7781; font-style: italic; }
.na { color: #8c959f; }
.no { color: #b3261e; font-weight: 700; }
.yes { color: #1a7f37; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: .85em; font-weight: 700;
  color: #fff; text-transform: uppercase; letter-spacing: .02em; }
.sev-critical { background: #82071e; } .sev-high { background: #cf222e; } .sev-medium { background: #9a6700; }
.sev-low { background: #0969da; } .sev-info { background: #6e7781; } .sev-unknown { background: #24292f; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 6px 8px; margin: 4px 0; white-space: pre-wrap;
  overflow-wrap: anywhere; font-size: 11px; }
pre code { font-size: 1em; white-space: inherit; }
ul.evidence { margin: 0; padding-left: 16px; }
td.evidence { min-width: 300px; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  body { margin: 0; font-size: 10px; }
  nav { display: none; }
  table { font-size: 8.5px; }
  table#t-chain { font-size: 7.5px; }
  pre { font-size: 8px; }
  td.evidence { min-width: 200px; }
  td.wide { min-width: 90px; }
  thead { display: table-header-group; }
  thead th { position: static; }
  tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

fn html_inline(parts: &[Inline], out: &mut String) {
    for part in parts {
        match part {
            Inline::Text(s) => out.push_str(&esc(s)),
            Inline::Strong(s) => out.push_str(&format!("<strong>{}</strong>", esc(s))),
            Inline::Code(s) => out.push_str(&format!("<code>{}</code>", esc(s))),
            Inline::Id(s) => out.push_str(&format!("<code class=\"id\">{}</code>", esc(s))),
            Inline::NotReported => out.push_str(&format!("<span class=\"nr\">{NOT_REPORTED}</span>")),
            Inline::NotApplicable => out.push_str(&format!("<span class=\"na\">{NOT_APPLICABLE}</span>")),
            Inline::Muted(s) => out.push_str(&format!("<span class=\"na\">{}</span>", esc(s))),
            Inline::Good(s) => out.push_str(&format!("<span class=\"yes\">{}</span>", esc(s))),
            Inline::Bad(s) => out.push_str(&format!("<span class=\"no\">{}</span>", esc(s))),
            Inline::Badge(s) => out.push_str(&format!("<span class=\"badge {}\">{}</span>", badge_class(s), esc(s))),
            Inline::Note(inner) => {
                out.push_str("<span class=\"note\">");
                html_inline(inner, out);
                out.push_str("</span>");
            }
            Inline::Command(s) => out.push_str(&format!("<pre><code>{}</code></pre>", esc(s))),
        }
    }
}

fn html_table(table: &Table, out: &mut String) {
    let class = |i: usize| {
        if table.numeric.contains(&i) {
            " class=\"num\""
        } else if table.wide.contains(&i) {
            " class=\"wide\""
        } else {
            ""
        }
    };
    out.push_str(&format!("<table id=\"{}\">\n<thead><tr>", table.id));
    for (i, h) in table.head.iter().enumerate() {
        out.push_str(&format!("<th scope=\"col\"{}>{}</th>", class(i), esc(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            out.push_str(&format!("<td{}>", class(i)));
            html_inline(cell, out);
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html_block(block: &Block, out: &mut String) {
    match block {
        Block::Para(parts) | Block::Verdict(parts) => {
            out.push_str(if matches!(block, Block::Verdict(_)) { "<p class=\"verdict\">" } else { "<p>" });
            html_inline(parts, out);
            out.push_str("</p>\n");
        }
        Block::Facts(facts) => {
            out.push_str("<dl class=\"facts\">\n");
            for (label, value) in facts {
                out.push_str(&format!("<dt>{}</dt><dd>", esc(label)));
                html_inline(value, out);
                out.push_str("</dd>\n");
            }
            out.push_str("</dl>\n");
        }
        Block::Subheading(title) => out.push_str(&format!("<h3>{}</h3>\n", esc(title))),
        Block::Table(table) => html_table(table, out),
        Block::Findings(findings) => {
            out.push_str(
                "<table id=\"t-findings\">\n<thead><tr><th scope=\"col\">Severity</th><th scope=\"col\">Rule</th>\
                 <th scope=\"col\">Resource</th><th scope=\"col\">Finding</th><th scope=\"col\">Evidence</th>\
                 <th scope=\"col\">Fix</th></tr></thead>\n<tbody>\n",
            );
            for f in findings {
                out.push_str("<tr><td class=\"nowrap\">");
                html_inline(&[Inline::Badge(f.severity.clone())], out);
                out.push_str(&format!("</td><td class=\"nowrap\"><code>{}</code></td><td>", esc(&f.rule_id)));
                let mut resource =
                    vec![Inline::Strong(f.short_name.clone()), note(vec![ident(f.resource_id.as_str())])];
                if !f.encryption_scope.is_empty() {
                    resource.push(note(vec![text("scope "), code(f.encryption_scope.as_str())]));
                }
                if let Some(ty) = &f.resource_type {
                    resource.push(note(vec![code(ty.as_str())]));
                }
                html_inline(&resource, out);
                out.push_str(&format!("</td><td>{}", esc(&f.title)));
                html_inline(&[note(vec![text("Source: "), text(f.source.as_str())])], out);
                out.push_str("</td><td class=\"evidence\">");
                if f.evidence.is_empty() {
                    out.push_str("<span class=\"nr\">none recorded</span>");
                } else {
                    out.push_str("<ul class=\"evidence\">");
                    for e in &f.evidence {
                        out.push_str(&format!("<li><code class=\"id\">{}</code></li>", esc(e)));
                    }
                    out.push_str("</ul>");
                }
                out.push_str("</td><td>");
                for part in &f.fix {
                    match part {
                        FixPart::Prose(inline) => {
                            out.push_str("<div>");
                            html_inline(inline, out);
                            out.push_str("</div>");
                        }
                        FixPart::Command(command) => html_inline(&[Inline::Command(command.clone())], out),
                    }
                }
                out.push_str("</td></tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Commands(commands) => {
            out.push_str(&format!("<pre><code>{}</code></pre>\n", esc(&commands.join("\n"))));
        }
    }
}

impl Document {
    fn html(&self) -> String {
        let mut out = String::new();
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // Defence in depth: even a value that escaped escaping could neither run nor fetch anything.
        out.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
        );
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        out.push_str(&format!("<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n", esc(&self.title)));
        out.push_str(&format!("<h1>{}</h1>\n", esc(&self.title)));
        out.push_str("<nav><ol>");
        for (n, section) in self.sections.iter().enumerate().skip(1) {
            out.push_str(&format!("<li><a href=\"#{}\">{n}. {}</a></li>", section.id, esc(section.title)));
        }
        out.push_str("</ol></nav>\n");
        for (n, section) in self.sections.iter().enumerate() {
            out.push_str(&format!("<section id=\"{}\">\n", section.id));
            if n > 0 {
                out.push_str(&format!("<h2>{n}. {}</h2>\n", esc(section.title)));
            }
            for block in &section.blocks {
                html_block(block, &mut out);
            }
            out.push_str("</section>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use diff::{AttentionRow, Summary};
    use evidence::{CoverageRow, FindingRow, Tables};

    const TENANT: &str = "f6fadfa7-e5c1-4b62-9362-da5cc13da58a";
    const SNAPSHOT: &str = "20261123T101500Z";
    const SUB: &str = "2c63888f-28f0-4481-be6d-dce7a7ace732";
    const SUB_DENIED: &str = "bc67ba94-637d-4efa-a09e-467ada679f81";
    const V_OLD: &str = "9531985d5d9dc9f81818e811892f902b";
    const V_NEW: &str = "36f675cc81e74ef5e8e25d940ed90475";
    const EVIL: &str = "st<script>alert(\"x\")</script>|pipe";
    const KV: &str = "https://kv-contoso-prod.vault.azure.net/";

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn arm_id(rg: &str, provider_type: &str, name: &str) -> String {
        format!("/subscriptions/{SUB}/resourcegroups/{rg}/providers/{provider_type}/{name}")
    }

    /// A complete customer-managed chain; tests change what they need.
    fn cmk(resource_type: &str, provider_type: &str, name: &str, scope: &str) -> CmkChainRow {
        CmkChainRow {
            tenant_id: TENANT.into(),
            snapshot_id: SNAPSHOT.into(),
            subscription_id: SUB.into(),
            resource_id: arm_id("rg-prod", provider_type, name),
            resource_type: resource_type.into(),
            resource_name: name.into(),
            location: Some("westeurope".into()),
            encryption_scope: scope.into(),
            key_source: Some(key_source::CUSTOMER_MANAGED.into()),
            key_vault_uri: Some(KV.into()),
            vault_kind: Some("key_vault".into()),
            key_vault_resource_id: Some(arm_id("rg-keys", "microsoft.keyvault/vaults", "kv-contoso-prod")),
            key_via_resource_id: None,
            key_name: Some("cmk-storage-prod".into()),
            configured_key_version: None,
            in_use_key_version: Some(V_NEW.into()),
            latest_key_version: Some(V_NEW.into()),
            in_use_is_latest: Some(true),
            rotation_lag_seconds: Some(0),
            auto_rotation: Some(true),
            key_enabled: Some(true),
            key_expires_at: Some(ts("2027-07-18T08:00:00Z")),
            key_type: Some("RSA-HSM".into()),
            key_size: Some(3072),
            latest_version_created_at: Some(ts("2026-10-01T00:00:00Z")),
            rotation_policy_present: Some(true),
            vault_soft_delete: Some(true),
            vault_soft_delete_retention_days: Some(90),
            vault_purge_protection: Some(true),
            vault_rbac_authorization: Some(true),
            vault_public_network_access: Some("Disabled".into()),
            vault_network_default_action: Some("Deny".into()),
            vault_network_bypass: Some("AzureServices".into()),
            identity_type: Some("system_assigned".into()),
            identity_resource_id: None,
            identity_principal_id: Some("45ac16b9-c20d-4c21-8f8a-7abff2e91ac7".into()),
            identity_client_id: None,
            federated_client_id: None,
            identity_has_crypto_role: Some(true),
            crypto_roles: Some(vec!["Key Vault Crypto Service Encryption User".into()]),
            chain_status: "complete".into(),
            chain_gaps: None,
            raw_response_sha256: "ab".repeat(32),
        }
    }

    fn microsoft_managed(resource_type: &str, provider_type: &str, name: &str, scope: &str) -> CmkChainRow {
        CmkChainRow {
            key_source: Some(key_source::MICROSOFT_MANAGED.into()),
            key_vault_uri: None,
            vault_kind: None,
            key_vault_resource_id: None,
            key_name: None,
            in_use_key_version: None,
            latest_key_version: None,
            in_use_is_latest: None,
            rotation_lag_seconds: None,
            auto_rotation: None,
            key_enabled: None,
            key_expires_at: None,
            key_type: None,
            key_size: None,
            latest_version_created_at: None,
            rotation_policy_present: None,
            vault_soft_delete: None,
            vault_soft_delete_retention_days: None,
            vault_purge_protection: None,
            vault_rbac_authorization: None,
            vault_public_network_access: None,
            vault_network_default_action: None,
            vault_network_bypass: None,
            identity_type: None,
            identity_principal_id: None,
            identity_has_crypto_role: None,
            crypto_roles: None,
            chain_status: "microsoft_managed".into(),
            ..cmk(resource_type, provider_type, name, scope)
        }
    }

    fn finding(rule: &str, severity: &str, resource_id: &str, resource_type: Option<&str>, fix: &str) -> FindingRow {
        FindingRow {
            tenant_id: TENANT.into(),
            snapshot_id: SNAPSHOT.into(),
            rule_id: rule.into(),
            severity: severity.into(),
            resource_id: resource_id.into(),
            encryption_scope: String::new(),
            resource_type: resource_type.map(str::to_string),
            subscription_id: Some(SUB.into()),
            title: format!("{rule} fired"),
            evidence: vec![format!("cmk_chain.resource_id={resource_id}")],
            source: "seed 003".into(),
            fix: fix.into(),
        }
    }

    fn coverage(status: &str, resource_type: &str, resource_id: Option<&str>, reason: &str) -> CoverageRow {
        CoverageRow {
            tenant_id: TENANT.into(),
            snapshot_id: SNAPSHOT.into(),
            subscription_id: Some(SUB.into()),
            resource_type: resource_type.into(),
            resource_id: resource_id.map(str::to_string),
            status: status.into(),
            reason: reason.into(),
            http_status: None,
            error_code: None,
            request_url: None,
        }
    }

    /// Several services, every kind of chain row (complete, nulls, incomplete, Microsoft-managed, key source not
    /// reported, expired key), findings of every severity, every coverage status, and a hostile resource name.
    fn fixture() -> Tables {
        use evidence::resource_types as t;
        let storage = "microsoft.storage/storageaccounts";
        let mut legacy = cmk(t::STORAGE_ACCOUNT, storage, "stcontosolegacy", "account");
        legacy.vault_purge_protection = None;
        legacy.rotation_policy_present = None;
        let mut evil = cmk(t::STORAGE_ACCOUNT, storage, EVIL, "account");
        evil.in_use_key_version = Some(V_OLD.into());
        evil.in_use_is_latest = Some(false);
        evil.rotation_lag_seconds = Some(3 * 3_600 + 300);
        let mut saas = cmk(t::STORAGE_ACCOUNT, storage, "stsaasfabrikam01", "account");
        saas.key_vault_uri = Some("https://kv-fabrikam-byok.vault.azure.net/".into());
        saas.key_vault_resource_id = None;
        saas.latest_key_version = None;
        saas.in_use_is_latest = None;
        saas.key_enabled = None;
        saas.key_expires_at = None;
        saas.vault_soft_delete = None;
        saas.vault_soft_delete_retention_days = None;
        saas.vault_purge_protection = None;
        saas.rotation_policy_present = None;
        saas.identity_type = Some("user_assigned".into());
        saas.identity_resource_id =
            Some(arm_id("rg-identity", "microsoft.managedidentity/userassignedidentities", "id-saas-cmk"));
        saas.federated_client_id = Some("0b6e1c4e-3f4a-4d5e-9a7b-2c1d0e9f8a7b".into());
        saas.identity_has_crypto_role = None;
        saas.crypto_roles = None;
        saas.chain_status = "incomplete".into();
        saas.chain_gaps =
            Some(vec!["vault_not_collected".into(), "key_not_read".into(), "cross_tenant_identity".into()]);
        let mut reports = cmk(t::STORAGE_ACCOUNT, storage, "stcontosoreports", "account");
        reports.identity_has_crypto_role = Some(false);
        reports.crypto_roles = Some(vec![]);
        let mut sqlmi =
            cmk(t::SQL_MANAGED_INSTANCE, "microsoft.sql/managedinstances", "sqlmi-contoso-legacy", "tde_protector");
        sqlmi.configured_key_version = Some(V_OLD.into());
        sqlmi.in_use_key_version = Some(V_OLD.into());
        sqlmi.in_use_is_latest = Some(false);
        sqlmi.key_expires_at = Some(ts("2026-01-01T00:00:00Z"));
        sqlmi.auto_rotation = Some(false);
        let mut acr =
            cmk(t::CONTAINER_REGISTRY, "microsoft.containerregistry/registries", "acrcontosoprod", "registry");
        acr.identity_type = Some("user_assigned".into());
        acr.identity_resource_id =
            Some(arm_id("rg-identity", "microsoft.managedidentity/userassignedidentities", "id-acr"));
        let mut disk = cmk(t::DISK, "microsoft.compute/disks", "vm-contoso-app01-data01", "disk");
        disk.key_via_resource_id = Some(arm_id("rg-prod", "microsoft.compute/diskencryptionsets", "des-contoso-prod"));
        let mut aci = cmk(
            t::CONTAINER_GROUP,
            "microsoft.containerinstance/containergroups",
            "aci-contoso-batch",
            "container_group",
        );
        aci.key_source = None;
        aci.chain_status = "incomplete".into();
        aci.chain_gaps = Some(vec!["key_source_not_reported".into()]);
        let aks = "microsoft.containerservice/managedclusters";
        let chain = vec![
            cmk(t::STORAGE_ACCOUNT, storage, "stcontosoprod01", "account"),
            legacy,
            evil,
            saas,
            reports,
            microsoft_managed(t::STORAGE_ACCOUNT, storage, "stcontosologs", "account"),
            cmk(t::DISK_ENCRYPTION_SET, "microsoft.compute/diskencryptionsets", "des-contoso-prod", "encryption_set"),
            disk,
            sqlmi,
            acr,
            microsoft_managed(
                t::CONTAINER_REGISTRY,
                "microsoft.containerregistry/registries",
                "acrcontosodev",
                "registry",
            ),
            cmk(t::AKS_CLUSTER, aks, "aks-contoso-prod", "etcd_secrets"),
            cmk(t::AKS_CLUSTER, aks, "aks-contoso-prod", "node_disks"),
            aci,
        ];
        let prod02 = arm_id("rg-prod", storage, "stcontosoprod02");
        let vault = arm_id("rg-keys", "microsoft.keyvault/vaults", "kv-contoso-legacy");
        let key_uri = format!("{KV}keys/cmk-reports");
        let evil_id = arm_id("rg-prod", storage, EVIL);
        let findings = vec![
            finding(
                "CMK002",
                "critical",
                &prod02,
                Some(t::STORAGE_ACCOUNT),
                "Enable the version in use again, then let the account adopt the newest:\n\
                 az keyvault key set-attributes --vault-name kv-contoso-prod --name cmk-storage-prod --version 9531985d --enabled true",
            ),
            finding(
                "CMK001",
                "high",
                &arm_id("rg-prod", storage, "stcontosoreports"),
                Some(t::STORAGE_ACCOUNT),
                "Grant the identity key use: `az role assignment create --role \"Key Vault Crypto Service Encryption User\" --assignee-object-id 45ac16b9 --scope /subscriptions/x` on the key",
            ),
            finding(
                "CMK001",
                "high",
                &evil_id,
                Some(t::STORAGE_ACCOUNT),
                "Fix | it: az storage account update --name 'a|b'",
            ),
            finding(
                "CMK010",
                "medium",
                &vault,
                Some(t::KEY_VAULT),
                "az keyvault update --name kv-contoso-legacy \\\n    --enable-purge-protection true",
            ),
            finding(
                "CMK020",
                "low",
                &key_uri,
                None,
                "Give the key a rotation policy (az keyvault key rotation-policy update).",
            ),
            finding(
                "CMK090",
                "info",
                &arm_id("rg-web", "microsoft.web/sites", "app-contoso-portal"),
                Some(t::WEB_SITE),
                "Nothing to do: the service has no customer-managed key.",
            ),
        ];
        let mut denied =
            coverage("denied", t::STORAGE_ACCOUNT, None, "listing storage accounts failed: AuthorizationFailed");
        denied.subscription_id = Some(SUB_DENIED.into());
        denied.http_status = Some(403);
        denied.error_code = Some("AuthorizationFailed".into());
        let mut not_found = coverage(
            "not_found",
            t::KEY_VAULT,
            Some("https://kv-fabrikam-byok.vault.azure.net"),
            "kv-fabrikam-byok.vault.azure.net holds 1 key in use but is not in any collected subscription",
        );
        not_found.subscription_id = None;
        let mut throttled =
            coverage("throttled", t::KEY_VERSIONS, Some(&key_uri), "429 until the retry budget was spent");
        throttled.http_status = Some(429);
        let mut error =
            coverage("error", t::SQL_MI_PROTECTOR, None, "HTTP 500 InternalServerError\nsecond line | with a pipe");
        error.http_status = Some(500);
        error.error_code = Some("InternalServerError".into());
        let coverage = vec![
            denied,
            not_found,
            throttled,
            error,
            coverage(
                "not_supported",
                t::WEB_SITE,
                Some(&arm_id("rg-web", "microsoft.web/sites", "app-contoso-portal")),
                "App Service apps have no service-level customer-managed key setting (seed 001)",
            ),
            coverage(
                "not_supported",
                t::CONTAINER_APPS_ENVIRONMENT,
                Some(&arm_id("rg-apps", "microsoft.app/managedenvironments", "cae-contoso-prod")),
                "Container Apps environments do not support customer-managed keys (seed 000)",
            ),
            coverage(
                "not_assessed",
                "Microsoft.ManagedIdentity/userAssignedIdentities",
                Some("/x/id-a"),
                "not assessed",
            ),
            coverage(
                "not_assessed",
                "Microsoft.ManagedIdentity/userAssignedIdentities",
                Some("/x/id-b"),
                "not assessed",
            ),
            coverage("not_assessed", "Microsoft.Web/serverFarms", Some("/x/plan"), "not assessed"),
        ];
        Tables { cmk_chain: chain, findings, coverage, ..Tables::default() }
    }

    fn previous() -> Summary {
        let attention =
            |class: &str, severity: Severity, id: &str, scope: Option<&str>, changes: &[&str]| AttentionRow {
                subject: if scope.is_some() { "binding" } else { "key_version" }.into(),
                resource_id: id.into(),
                encryption_scope: scope.map(str::to_string),
                class: class.into(),
                severity,
                changes: changes.iter().map(|c| c.to_string()).collect(),
            };
        let prod02 = arm_id("rg-prod", "microsoft.storage/storageaccounts", "stcontosoprod02");
        let mut s = Summary::new(TENANT, "20261122T101500Z", SNAPSHOT);
        let info = || attention("unchanged", Severity::Info, "-", None, &[]);
        for _ in 0..5 {
            s.binding(Class::Unchanged, Severity::Info, info);
        }
        for _ in 0..3 {
            s.binding(Class::Rotated, Severity::Info, info);
        }
        s.binding(Class::OldVersionDisabledInUse, Severity::Critical, || {
            attention(
                "old_version_disabled_in_use",
                Severity::Critical,
                &prod02,
                Some("account"),
                &["key_enabled: true → false", "version 9531985d in use is disabled <b>"],
            )
        });
        s.binding(Class::RotationStalled, Severity::High, || {
            attention(
                "rotation_stalled",
                Severity::High,
                "/x/acrcontosoprod",
                Some("registry"),
                &["past the window 1h00m"],
            )
        });
        s.other("key_version", "version_disabled", Severity::Critical, || {
            attention(
                "version_disabled",
                Severity::Critical,
                &format!("{KV}keys/cmk-storage-prod/{V_OLD}"),
                None,
                &["enabled: true → false"],
            )
        });
        s.other("key_version", "added", Severity::Info, info);
        s.other("key_version", "added", Severity::Info, info);
        s.finish();
        s
    }

    fn input<'a>(tables: &'a Tables, scopes: &'a [String], previous: Option<&'a Summary>) -> ReportInput<'a> {
        ReportInput {
            tables,
            tenant_id: TENANT,
            snapshot_id: SNAPSHOT,
            snapshot_time: "2026-11-23T10:15:00Z",
            cloud: "public",
            scopes,
            previous,
            previous_error: None,
        }
    }

    fn scopes() -> Vec<String> {
        vec![format!("/subscriptions/{SUB}"), format!("/subscriptions/{SUB_DENIED}")]
    }

    /// The `<tr>` elements of the HTML table with `id`, header row included.
    fn html_rows<'h>(html: &'h str, id: &str) -> Option<Vec<&'h str>> {
        let start = html.find(&format!("<table id=\"{id}\">"))?;
        let end = start + html[start..].find("</table>")?;
        Some(html[start..end].split("<tr>").skip(1).collect())
    }

    /// The cells of an HTML row, inner HTML.
    fn html_cells(row: &str) -> Vec<&str> {
        row.split("<td").skip(1).map(|c| &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()]).collect()
    }

    /// The cells of a Markdown table line, split on `|` not escaped by a backslash.
    fn md_cells(line: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut chars = line.trim().trim_start_matches('|').chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => {
                    cells.last_mut().unwrap().push(ch);
                    if let Some(next) = chars.next() {
                        cells.last_mut().unwrap().push(next);
                    }
                }
                '|' => cells.push(String::new()),
                _ => cells.last_mut().unwrap().push(ch),
            }
        }
        cells.pop(); // after the closing pipe
        cells.into_iter().map(|c| c.trim().to_string()).collect()
    }

    #[test]
    fn both_formats_have_every_section_in_order() {
        let (tables, scopes, prev) = (fixture(), scopes(), previous());
        for previous in [None, Some(&prev)] {
            let input = input(&tables, &scopes, previous);
            let (md, html) = (markdown(&input), html(&input));
            assert!(md.starts_with(&format!("# CMK evidence report — tenant {TENANT}, snapshot {SNAPSHOT}\n")));
            assert!(html.contains(&format!("<h1>CMK evidence report — tenant {TENANT}, snapshot {SNAPSHOT}</h1>")));
            let titles = [
                "Summary per service",
                "Findings",
                "CMK chain per resource",
                "Coverage",
                "Rotation since the previous package",
                "How to verify this package",
            ];
            let (mut md_at, mut html_at) = (md.find("**Verdict.**").expect("verdict"), html.find("Verdict.").unwrap());
            for (i, title) in titles.iter().enumerate() {
                let n = i + 1;
                let m = md.find(&format!("\n## {n}. {title}\n")).unwrap_or_else(|| panic!("markdown lacks {title}"));
                let h = html.find(&format!("<h2>{n}. {title}</h2>")).unwrap_or_else(|| panic!("html lacks {title}"));
                assert!(m > md_at && h > html_at, "{title} out of order");
                (md_at, html_at) = (m, h);
            }
            for sub in ["Collection gaps", "Services without customer-managed keys", "Not assessed"] {
                assert!(md.contains(&format!("### {sub}\n")) && html.contains(&format!("<h3>{sub}</h3>")), "{sub}");
            }
            assert!(md.contains("sha256sum -c SHA256SUMS") && html.contains("sha256sum -c SHA256SUMS"));
            assert!(html.contains("openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin -in manifest.json"));
            assert!(md.contains(&format!("cmk-evidence verify {TENANT}/{SNAPSHOT} --public-key signer.pub.pem")));
        }
    }

    #[test]
    fn verdict_counts_bindings_chains_findings_and_gaps() {
        let (tables, scopes) = (fixture(), scopes());
        let md = markdown(&input(&tables, &scopes, None));
        let verdict = md.lines().find(|l| l.starts_with("**Verdict.**")).unwrap();
        for fact in [
            "14 encryption bindings on 13 resources",
            "11 use a customer-managed key, 2 a Microsoft-managed key, and for 1 the key source was not reported",
            "10 of the 11 customer-managed chains are complete",
            "1 is incomplete",
            "Findings: 1 critical, 2 high, 1 medium, 1 low, 1 info",
            "4 collection gaps (1 denied, 1 error, 1 not_found, 1 throttled)",
            "2 resources of services that offer no customer-managed key",
            "3 resources of types this version does not assess",
        ] {
            assert!(verdict.contains(fact), "verdict lacks {fact:?}: {verdict}");
        }
        assert!(md.contains("- **Scopes:** `/subscriptions/2c63888f"), "{md}");
    }

    #[test]
    fn service_summary_has_one_row_per_type_with_its_counts() {
        let (tables, scopes) = (fixture(), scopes());
        let html = html(&input(&tables, &scopes, None));
        let rows = html_rows(&html, "t-services").unwrap();
        // storage, DES, disk, SQL MI, ACR, AKS, ACI, key vault (a finding), web site (a finding), type not reported
        assert_eq!(rows.len(), 1 + 10, "{rows:#?}");
        let storage = rows.iter().find(|r| r.contains("Storage accounts")).unwrap();
        let cells: Vec<&str> = html_cells(storage).into_iter().skip(1).collect();
        assert_eq!(cells, ["6", "6", "5", "1", "0", "4 of 5", "3", "1", "2"]);
        let aks = rows.iter().find(|r| r.contains("AKS clusters")).unwrap();
        assert_eq!(html_cells(aks)[1..3], ["1", "2"], "one cluster, two bindings");
        assert!(rows.iter().any(|r| r.contains("Resource type <span class=\"nr\">not reported</span>")));
    }

    /// The header cells of an HTML table's first row.
    fn html_head(header_row: &str) -> Vec<&str> {
        header_row.split("<th").skip(1).map(|c| &c[c.find('>').unwrap() + 1..c.find("</th>").unwrap()]).collect()
    }

    #[test]
    fn nulls_are_not_reported_never_no() {
        let (tables, scopes) = (fixture(), scopes());
        let input = input(&tables, &scopes, None);
        let (md, html) = (markdown(&input), html(&input));
        let rows = html_rows(&html, "t-chain").unwrap();
        assert_eq!(rows.len(), 1 + tables.cmk_chain.len());
        let head = html_head(rows[0]);
        let col = |name: &str| head.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
        let row =
            |name: &str| html_cells(rows.iter().find(|r| r.contains(&format!("<strong>{name}</strong>"))).unwrap());
        const NR: &str = "<span class=\"nr\">not reported</span>";

        // stcontosolegacy's vault omits purge protection, and its rotation policy could not be read.
        let legacy = row("stcontosolegacy");
        assert_eq!(legacy.len(), head.len());
        assert_eq!(legacy[col("Purge protection")], NR);
        assert_eq!(legacy[col("Rotation policy")], NR);
        assert!(legacy[col("Key enabled / expires")].starts_with("<span class=\"yes\">yes</span>"));
        let line = md.lines().find(|l| l.starts_with("| **stcontosolegacy**")).unwrap();
        let cells = md_cells(line);
        assert_eq!(cells.len(), head.len(), "{line}");
        assert_eq!(cells[col("Purge protection")], "not reported");
        assert_eq!(cells[col("Rotation policy")], "not reported");
        // The cross-tenant chain: the role and the vault could not be established.
        let saas = row("stsaasfabrikam01");
        assert_eq!(saas[col("Crypto role")], NR);
        assert_eq!(saas[col("Soft delete")], NR);
        assert!(saas[col("Key enabled / expires")].contains(&format!("expiry {NR}")));
        let chain = saas[col("Chain")];
        assert!(
            chain.contains("<code class=\"id\">vault_not_collected</code>") && chain.contains("incomplete"),
            "{chain}"
        );
        // A false is shown as no.
        assert_eq!(row("stcontosoreports")[col("Crypto role")], "<span class=\"no\">no</span>");
        // Microsoft-managed: the key columns have nothing to show, and say so without "no" or "not reported".
        let logs = row("stcontosologs");
        assert_eq!(logs[col("Purge protection")], "<span class=\"na\">n/a</span>");
        assert!(logs.iter().all(|c| !c.contains("class=\"no\"") && !c.contains(NR)), "{logs:?}");
        // Key source not reported.
        assert_eq!(row("aci-contoso-batch")[col("Key source")], NR);
        // The SQL MI's expired key is flagged against the snapshot time; its pinned version is shown.
        let sqlmi = row("sqlmi-contoso-legacy");
        assert!(sqlmi[col("Key enabled / expires")].contains("expired at snapshot time"));
        assert_eq!(sqlmi[col("Configured version")], format!("<code class=\"id\">{V_OLD}</code>"));
        assert_eq!(row("stcontosoprod01")[col("Configured version")], "<strong>latest</strong>");
        assert!(row(&esc(EVIL))[col("In use is latest")].contains("newest is 3h05m old"));
    }

    #[test]
    fn html_escapes_every_value() {
        let (tables, scopes, prev) = (fixture(), scopes(), previous());
        let html = html(&input(&tables, &scopes, Some(&prev)));
        assert!(!html.contains("<script"), "an unescaped script tag");
        assert!(!html.contains("alert(\"x\")"), "an unescaped quote");
        assert!(html.contains("<strong>st&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;|pipe</strong>"));
        assert!(html.contains("in use is disabled &lt;b&gt;"), "diff changes are escaped too");
        assert!(!html.contains("<b>"));
    }

    /// Markdown with code spans removed, to look at what a renderer would read as markup.
    fn outside_code_spans(line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(start) = rest.find('`') {
            if start > 0 && rest.as_bytes()[start - 1] == b'\\' {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
            out.push_str(&rest[..start]);
            let run = rest[start..].chars().take_while(|c| *c == '`').count();
            let fence = "`".repeat(run);
            let after = &rest[start + run..];
            match after.find(&fence) {
                Some(end) => rest = &after[end + run..],
                None => {
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn markdown_escapes_markup_and_pipes() {
        let (tables, scopes, prev) = (fixture(), scopes(), previous());
        let md = markdown(&input(&tables, &scopes, Some(&prev)));
        assert!(md.contains("**st\\<script\\>alert(\"x\")\\</script\\>\\|pipe**"), "{md}");
        let mut in_fence = false;
        let mut header_cells = None;
        for line in md.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            if in_fence {
                continue;
            }
            // What a renderer reads as markup: outside code spans, and not escaped by a backslash.
            let plain = outside_code_spans(line).replace("\\<", "");
            assert!(!plain.contains("<script") && !plain.contains("<b>"), "markup outside code: {line}");
            // Every row of a table has as many cells as its header: no value split a cell.
            if line.starts_with('|') {
                let n = md_cells(line).len();
                match header_cells {
                    None => header_cells = Some(n),
                    Some(h) => assert_eq!(n, h, "cell count differs from the header: {line}"),
                }
            } else {
                header_cells = None;
            }
        }
        let gap = md.lines().find(|l| l.contains("InternalServerError second line")).unwrap();
        assert!(gap.contains("second line \\| with a pipe"), "newline joined, pipe escaped: {gap}");
    }

    #[test]
    fn html_references_nothing_outside_itself() {
        let (tables, scopes, prev) = (fixture(), scopes(), previous());
        let html = html(&input(&tables, &scopes, Some(&prev)));
        let lower = html.to_ascii_lowercase();
        for forbidden in ["<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "@font-face"] {
            assert!(!lower.contains(forbidden), "{forbidden} in the report");
        }
        for attr in ["src=", "href=", "url(", "srcset=", "action="] {
            for (at, _) in lower.match_indices(attr) {
                let value = lower[at + attr.len()..].trim_start_matches(['"', '\'', ' ']);
                assert!(
                    !value.starts_with("http:") && !value.starts_with("https:") && !value.starts_with("//"),
                    "{attr}{}",
                    &value[..40.min(value.len())]
                );
                if attr == "href=" {
                    assert!(value.starts_with('#'), "only in-page links: href={}", &value[..40.min(value.len())]);
                }
            }
        }
        assert!(html.contains("<style>") && html.contains("@media print"));
        assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    }

    #[test]
    fn same_input_in_any_row_order_gives_the_same_bytes() {
        let (tables, scopes, prev) = (fixture(), scopes(), previous());
        let mut shuffled = tables.clone();
        shuffled.cmk_chain.reverse();
        shuffled.findings.reverse();
        shuffled.coverage.reverse();
        shuffled.cmk_chain.swap(0, 5);
        let mut reversed_scopes = scopes.clone();
        reversed_scopes.reverse();
        for previous in [None, Some(&prev)] {
            let a = input(&tables, &scopes, previous);
            let b = input(&shuffled, &reversed_scopes, previous);
            assert_eq!(markdown(&a), markdown(&a));
            assert_eq!(markdown(&a), markdown(&b));
            assert_eq!(html(&a), html(&b));
        }
    }

    #[test]
    fn findings_are_listed_highest_severity_first_with_their_fix_commands() {
        let (tables, scopes) = (fixture(), scopes());
        let input = input(&tables, &scopes, None);
        let (md, html) = (markdown(&input), html(&input));
        let rows = html_rows(&html, "t-findings").unwrap();
        assert_eq!(rows.len(), 1 + tables.findings.len());
        let severities: Vec<&str> = rows[1..]
            .iter()
            .map(|r| {
                let start = r.find("class=\"badge sev-").unwrap() + 17;
                &r[start..start + r[start..].find('"').unwrap()]
            })
            .collect();
        assert_eq!(severities, ["critical", "high", "high", "medium", "low", "info"]);
        assert!(html.contains(
            "<pre><code>az keyvault key set-attributes --vault-name kv-contoso-prod --name cmk-storage-prod"
        ));
        assert!(html.contains("<pre><code>az role assignment create --role &quot;Key Vault Crypto Service"));
        assert!(md.contains("### 1. CRITICAL `CMK002` — stcontosoprod02\n"), "{md}");
        assert!(md.contains(
            "  ```sh\n  az keyvault update --name kv-contoso-legacy \\\n      --enable-purge-protection true\n  ```\n"
        ));
        assert!(md.contains("  - `cmk_chain.resource_id=/subscriptions/"));
        let low = md.find("### 5. LOW `CMK020` — kv-contoso-prod/keys/cmk-reports").unwrap();
        assert!(md[low..].contains("- Fix: Give the key a rotation policy (az keyvault key rotation-policy update)."));
    }

    #[test]
    fn fixes_keep_prose_and_commands_in_order() {
        use FixPart::{Command, Prose};
        let prose = |parts: &[Inline]| Prose(parts.to_vec());
        assert_eq!(fix_parts("Do this:\naz a b"), [prose(&[text("Do this:")]), Command("az a b".into())]);
        assert_eq!(fix_parts("Grant it: az role x"), [prose(&[text("Grant it:")]), Command("az role x".into())]);
        assert_eq!(
            fix_parts("Run `az k u` now, with `--x 1`."),
            [prose(&[text("Run")]), Command("az k u".into()), prose(&[text("now, with "), code("--x 1"), text(".")])]
        );
        // A command quoted at the end of the sentence leaves no stray full stop.
        assert_eq!(fix_parts("Rotate it: `az k r`."), [prose(&[text("Rotate it:")]), Command("az k r".into())]);
        assert_eq!(
            fix_parts("First `az a`; then `az b`, done"),
            [
                prose(&[text("First")]),
                Command("az a".into()),
                prose(&[text("then")]),
                Command("az b".into()),
                prose(&[text("done")])
            ]
        );
        assert_eq!(
            fix_parts("$ az x \\\n  --y 1\nthen wait"),
            [Command("az x \\\n  --y 1".into()), prose(&[text("then wait")])]
        );
        assert_eq!(fix_parts("no command here"), [prose(&[text("no command here")])]);
        assert_eq!(fix_parts("unclosed `quote"), [prose(&[text("unclosed `quote")])]);
    }

    #[test]
    fn rotation_section_without_and_with_a_previous_package() {
        let (tables, scopes, prev) = (fixture(), scopes(), previous());
        let none = input(&tables, &scopes, None);
        let (md, page) = (markdown(&none), html(&none));
        assert!(md.contains(NO_PREVIOUS) && page.contains(NO_PREVIOUS));
        assert!(html_rows(&page, "t-rotation-classes").is_none());

        let some = input(&tables, &scopes, Some(&prev));
        let (md, html) = (markdown(&some), html(&some));
        assert!(!md.contains(NO_PREVIOUS) && !html.contains(NO_PREVIOUS));
        assert!(md.contains("Compared with the previous package `20261122T101500Z` (this one: `20261123T101500Z`): 10 bindings compared. Rows per severity: 2 critical, 1 high, 0 medium, 0 low, 10 info."), "{md}");
        let classes = html_rows(&html, "t-rotation-classes").unwrap();
        assert_eq!(classes.len(), 1 + BINDING_CLASSES.len());
        let rotated = classes.iter().find(|r| r.contains("<code>rotated</code>")).unwrap();
        assert_eq!(html_cells(rotated)[1], "3");
        assert_eq!(html_rows(&html, "t-rotation-other").unwrap().len(), 1 + 2);
        let attention = html_rows(&html, "t-rotation-attention").unwrap();
        assert_eq!(attention.len(), 1 + 3);
        assert!(attention[1].contains("sev-critical") && attention[1].contains("stcontosoprod02"));
        assert!(attention[3].contains("sev-high") && attention[3].contains("past the window 1h00m"));
        assert!(md.contains("| **CRITICAL** | `old_version_disabled_in_use` | binding | **stcontosoprod02**"), "{md}");
    }

    #[test]
    fn empty_snapshot_still_reads_as_a_report() {
        let tables = Tables::default();
        let input = input(&tables, &[], None);
        let (md, html) = (markdown(&input), html(&input));
        assert!(md.contains("No findings: no rule fired on this snapshot."));
        assert!(md.contains("- **Scopes:** not reported"));
        assert!(html.contains("None: every request succeeded"));
        assert!(html_rows(&html, "t-chain").is_none() && html_rows(&html, "t-findings").is_none());
        assert!(md.contains("no collection gaps: every request succeeded"));
    }
}
