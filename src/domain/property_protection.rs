//! Glance's property protections (`property_protection_file`): which callers may create, read,
//! update and delete which custom image properties.
//!
//! The file is read as Python's `configparser` reads it (Glance's `property_utils`): each
//! section name is a Python regular expression, searched (not anchored) in a property's name;
//! sections are tried in file order and the first that matches decides; a property no section
//! matches may not be touched by anyone. Each section needs all four operations. A value is
//! `@` (everyone), `!` (no one), empty (no one), or: with `roles`, a comma-separated list of
//! roles compared case-insensitively; with `policies`, the name of one policy rule. Glance puts
//! its own `[os_glance.*]` section (everyone, everything) first and drops any `os_glance...`
//! section of the file.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::pyre;

/// `property_protection_rule_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleFormat {
    Roles,
    Policies,
}

impl RuleFormat {
    /// The option's value as oslo.config checks it (`choices`, case-sensitive).
    pub fn parse(v: &str) -> Result<RuleFormat, String> {
        match v {
            "roles" => Ok(RuleFormat::Roles),
            "policies" => Ok(RuleFormat::Policies),
            other => Err(format!(
                "invalid value '{other}' for [DEFAULT] property_protection_rule_format \
                 (roles or policies)"
            )),
        }
    }
}

/// What is done to a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Create,
    Read,
    Update,
    Delete,
}

const ACCESSES: [(Access, &str); 4] = [
    (Access::Create, "create"),
    (Access::Read, "read"),
    (Access::Update, "update"),
    (Access::Delete, "delete"),
];

impl Access {
    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACCESSES[self.index()].1)
    }
}

#[derive(Debug)]
struct Section {
    pattern: Arc<Regex>,
    /// Per access: the list as Glance keeps it (roles lower-cased when compared; a policy
    /// name alone; empty for no one).
    permissions: [Vec<String>; 4],
}

/// A parsed protection file.
#[derive(Debug)]
pub struct PropertyRules {
    format: RuleFormat,
    sections: Vec<Section>,
}

/// Glance's exception text for a forbidden create, update or delete (`ReservedProperty`).
pub fn reserved(name: &str) -> String {
    format!("Attribute '{name}' is reserved.")
}

impl PropertyRules {
    /// Parse the file's text; the error says what is wrong (the caller names the file).
    pub fn parse(text: &str, format: RuleFormat) -> Result<PropertyRules, String> {
        let ini = Ini::parse(text)?;
        let mut sections = vec![Section {
            pattern: compile("os_glance.*")?,
            permissions: std::array::from_fn(|_| vec!["@".to_owned()]),
        }];
        for (name, options) in ini.sections.iter() {
            if name.starts_with("os_glance") {
                continue;
            }
            let pattern = compile(name)?;
            let mut permissions: [Vec<String>; 4] = Default::default();
            for (access, op) in ACCESSES {
                let value = options
                    .iter()
                    .chain(ini.defaults.iter())
                    .find(|(k, _)| k == op)
                    .map(|(_, v)| v.as_str())
                    .ok_or_else(|| format!("section [{name}] has no '{op}'"))?;
                if value.contains('%') {
                    return Err(format!(
                        "[{name}] {op}: '%' is not allowed (Python's configparser would \
                         interpolate it)"
                    ));
                }
                permissions[access.index()] = match (value, format) {
                    ("", _) => Vec::new(),
                    (v, RuleFormat::Policies) if v.contains(',') => {
                        return Err(format!(
                            "[{name}] {op} = {v}: multiple policies are not allowed for one \
                             operation (combine them in the policy file)"
                        ))
                    }
                    (v, RuleFormat::Policies) => vec![v.to_owned()],
                    (v, RuleFormat::Roles) => {
                        let roles: Vec<String> =
                            v.split(',').map(|r| r.trim().to_owned()).collect();
                        if roles.iter().any(|r| r == "@") && roles.iter().any(|r| r == "!") {
                            return Err(format!(
                                "[{name}] {op} = {v}: '@' and '!' are mutually exclusive"
                            ));
                        }
                        roles
                    }
                };
            }
            sections.push(Section {
                pattern,
                permissions,
            });
        }
        Ok(PropertyRules { format, sections })
    }

    pub fn format(&self) -> RuleFormat {
        self.format
    }

    /// Glance's `check_property_rules`. `roles` are the caller's (lower-cased) roles;
    /// `policy` evaluates a named policy rule for the caller (format `policies`).
    pub fn allows(
        &self,
        property: &str,
        access: Access,
        roles: &[String],
        policy: &dyn Fn(&str) -> bool,
    ) -> bool {
        let Some(section) = self.sections.iter().find(|s| s.pattern.is_match(property)) else {
            return false;
        };
        let permitted = &section.permissions[access.index()];
        if permitted.is_empty() || permitted.iter().any(|p| p == "!") {
            return false;
        }
        if permitted.iter().any(|p| p == "@") {
            return true;
        }
        match self.format {
            RuleFormat::Policies => permitted.first().is_some_and(|rule| policy(rule)),
            RuleFormat::Roles => permitted
                .iter()
                .any(|p| roles.iter().any(|r| *r == p.to_lowercase())),
        }
    }
}

fn compile(section: &str) -> Result<Arc<Regex>, String> {
    pyre::compile(section)
        .map_err(|e| format!("malformed property protection rule [{section}]: {e}"))
}

/// The parts of Python's `configparser` (defaults: `=`/`:` delimiters, `#`/`;` full-line
/// comments, indented continuation lines, strict duplicates, a `DEFAULT` section whose options
/// every section inherits) that a protection file uses.
#[derive(Debug, Default)]
struct Ini {
    defaults: Vec<(String, String)>,
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    fn parse(text: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        // Where options go: None before any header, Some(None) for DEFAULT.
        let mut current: Option<Option<usize>> = None;
        // The option a continuation line extends, and its line's indent.
        let mut last: Option<(usize, usize)> = None;
        for (n, line) in text.lines().enumerate() {
            let lineno = n + 1;
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let (Some(target), Some((option, opt_indent))) = (current, last) {
                if indent > opt_indent {
                    let options = match target {
                        None => &mut ini.defaults,
                        Some(i) => &mut ini.sections[i].1,
                    };
                    if let Some((_, v)) = options.get_mut(option) {
                        v.push('\n');
                        v.push_str(stripped);
                    }
                    continue;
                }
            }
            if let Some(rest) = stripped.strip_prefix('[') {
                if let Some(end) = rest.rfind(']').filter(|e| *e > 0) {
                    let name = &rest[..end];
                    last = None;
                    if name == "DEFAULT" {
                        current = Some(None);
                        continue;
                    }
                    if ini.sections.iter().any(|(s, _)| s == name) {
                        return Err(format!("line {lineno}: section [{name}] appears twice"));
                    }
                    ini.sections.push((name.to_owned(), Vec::new()));
                    current = Some(Some(ini.sections.len() - 1));
                    continue;
                }
            }
            let Some(target) = current else {
                return Err(format!("line {lineno}: an option before any [section]"));
            };
            let Some(at) = stripped.find(['=', ':']) else {
                return Err(format!("line {lineno}: no '=' or ':' in {stripped:?}"));
            };
            let key = stripped[..at].trim_end().to_lowercase();
            if key.is_empty() {
                return Err(format!("line {lineno}: an option without a name"));
            }
            let value = stripped[at + 1..].trim_start().to_owned();
            let options = match target {
                None => &mut ini.defaults,
                Some(i) => &mut ini.sections[i].1,
            };
            if options.iter().any(|(k, _)| *k == key) {
                return Err(format!(
                    "line {lineno}: option '{key}' appears twice in its section"
                ));
            }
            options.push((key, value));
            last = Some((options.len() - 1, indent));
        }
        Ok(ini)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The roles file of Glance's functional tests, in part.
    const ROLES: &str = "\
[^x_owner_.*]
create = admin,member
read = admin,member
update = admin,member
delete = admin,member

[spl_create_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin

[spl_read_only_prop]
create = admin
read = admin,spl_role
update = admin
delete = admin

[^x_all_permitted.*]
create = @
read = @
update = @
delete = @

[^x_none_permitted.*]
create = !
read = !
update = !
delete = !

[x_none_read]
create = admin,member
read = !
update = !
delete = !

[x_case_insensitive]
create = admin,Member
read = admin,Member
update = admin,Member
delete = admin,Member

[x_empty]
create =
read = admin
update = admin
delete = admin

[.*]
create = admin
read = admin
update = admin
delete = admin
";

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_owned().to_owned()).collect()
    }

    fn no_policy(_: &str) -> bool {
        panic!("no policy rule should be evaluated in roles format")
    }

    #[test]
    fn roles_first_matching_section_decides() {
        let r = PropertyRules::parse(ROLES, RuleFormat::Roles).unwrap();
        let member = roles(&["reader", "member"]);
        let spl = roles(&["reader", "member", "spl_role"]);
        let admin = roles(&["admin"]);
        use Access::*;
        for (prop, access, who, want) in [
            ("x_owner_foo", Create, &member, true),
            ("x_owner_foo", Delete, &member, true),
            ("foo", Create, &member, false),
            ("foo", Create, &admin, true),
            // Searched, not anchored: the section matches a longer name too.
            ("spl_create_prop_policy", Create, &spl, true),
            ("spl_create_prop", Update, &spl, false),
            ("spl_read_only_prop", Read, &spl, true),
            ("spl_read_only_prop", Create, &spl, false),
            ("x_all_permitted_joe", Update, &roles(&["joe_soap"]), true),
            ("x_all_permitted_joe", Delete, &roles(&[]), true),
            ("x_none_permitted_a", Create, &admin, false),
            ("x_none_read", Read, &admin, false),
            ("x_none_read", Create, &member, true),
            // The file's roles are compared lower-cased; the caller's are lower-cased already.
            ("x_case_insensitive", Read, &member, true),
            // An empty value: no one.
            ("x_empty", Create, &admin, false),
            ("x_empty", Read, &admin, true),
            // Glance's own section comes first.
            ("os_glance_import_task", Update, &roles(&[]), true),
        ] {
            assert_eq!(
                r.allows(prop, access, who, &no_policy),
                want,
                "{prop} {access} {who:?}"
            );
        }
    }

    #[test]
    fn nothing_matches_means_no_one() {
        let r = PropertyRules::parse(
            "[^a$]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",
            RuleFormat::Roles,
        )
        .unwrap();
        assert!(r.allows("a", Access::Read, &[], &no_policy));
        assert!(!r.allows("b", Access::Read, &roles(&["admin"]), &no_policy));
        // An empty file leaves only Glance's section.
        let r = PropertyRules::parse("", RuleFormat::Roles).unwrap();
        assert!(!r.allows("b", Access::Read, &roles(&["admin"]), &no_policy));
        assert!(r.allows("os_glance_x", Access::Delete, &[], &no_policy));
    }

    #[test]
    fn file_sections_named_os_glance_are_dropped() {
        let r = PropertyRules::parse(
            "[os_glance_foo]\ncreate=!\nread=!\nupdate=!\ndelete=!\n[.*]\ncreate=!\nread=!\nupdate=!\ndelete=!\n",
            RuleFormat::Roles,
        )
        .unwrap();
        assert!(r.allows("os_glance_foo", Access::Create, &[], &no_policy));
        assert!(!r.allows("other", Access::Create, &[], &no_policy));
    }

    #[test]
    fn policies_name_one_rule() {
        let text = "[spl_creator_policy]\ncreate = glance_creator\nread = glance_creator\n\
                    update = context_is_admin\ndelete = context_is_admin\n\
                    [^x_all_permitted.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n\
                    [x_none_update]\ncreate = context_is_admin\nread = context_is_admin\n\
                    update = !\ndelete = context_is_admin\n";
        let r = PropertyRules::parse(text, RuleFormat::Policies).unwrap();
        let asked = std::cell::RefCell::new(Vec::new());
        let policy = |rule: &str| {
            asked.borrow_mut().push(rule.to_owned());
            rule == "glance_creator"
        };
        assert!(r.allows("spl_creator_policy", Access::Create, &[], &policy));
        assert!(!r.allows("spl_creator_policy", Access::Update, &[], &policy));
        assert!(r.allows("x_all_permitted_1", Access::Update, &[], &policy));
        assert!(!r.allows("x_none_update", Access::Update, &[], &policy));
        assert!(!r.allows("unmatched", Access::Read, &[], &policy));
        assert_eq!(*asked.borrow(), ["glance_creator", "context_is_admin"]);
    }

    #[test]
    fn configparser_syntax() {
        // `:` delimits too, keys are case-insensitive, comments and continuation lines.
        let text =
            "# comment\n[DEFAULT]\ndelete = !\n\n[^a]\n; comment\nCreate: admin,\n   member\n\
                    read = @\nupdate = admin\n";
        let r = PropertyRules::parse(text, RuleFormat::Roles).unwrap();
        assert!(r.allows("ab", Access::Create, &roles(&["member"]), &no_policy));
        // `delete` comes from [DEFAULT].
        assert!(!r.allows("ab", Access::Delete, &roles(&["admin"]), &no_policy));
    }

    #[test]
    fn invalid_files_are_refused() {
        let full = "create = @\nread = @\nupdate = @\ndelete = @\n";
        for (text, format, want) in [
            (
                "[a]\ncreate = @\nread = @\nupdate = @\n".to_owned(),
                RuleFormat::Roles,
                "has no 'delete'",
            ),
            (
                format!("[a]\n{full}[a]\n{full}"),
                RuleFormat::Roles,
                "appears twice",
            ),
            (
                format!("[a]\n{full}create = x\n"),
                RuleFormat::Roles,
                "appears twice",
            ),
            (
                format!("create = x\n[a]\n{full}"),
                RuleFormat::Roles,
                "before any [section]",
            ),
            (
                format!("[a]\n{full}just words\n"),
                RuleFormat::Roles,
                "line 6: no '='",
            ),
            (
                format!("[a(]\n{full}"),
                RuleFormat::Roles,
                "malformed property protection rule [a(]",
            ),
            (
                "[a]\ncreate = admin,@,!\nread = @\nupdate = @\ndelete = @\n".to_owned(),
                RuleFormat::Roles,
                "mutually exclusive",
            ),
            (
                "[a]\ncreate = r1,r2\nread = @\nupdate = @\ndelete = @\n".to_owned(),
                RuleFormat::Policies,
                "multiple policies",
            ),
            (
                "[a]\ncreate = 50%\nread = @\nupdate = @\ndelete = @\n".to_owned(),
                RuleFormat::Roles,
                "'%'",
            ),
        ] {
            let err = PropertyRules::parse(&text, format).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        // Both marks are fine in a policies file's own value, and with roles apart.
        assert!(PropertyRules::parse(
            "[a]\ncreate = admin,@\nread = !\nupdate = @\ndelete = @\n",
            RuleFormat::Roles
        )
        .is_ok());
        assert!(RuleFormat::parse("Roles").is_err());
        assert_eq!(RuleFormat::parse("policies"), Ok(RuleFormat::Policies));
    }

    #[test]
    fn a_role_list_with_the_everyone_mark_admits_everyone() {
        let r = PropertyRules::parse(
            "[a]\ncreate = admin,@\nread = admin,!\nupdate = @\ndelete = @\n",
            RuleFormat::Roles,
        )
        .unwrap();
        assert!(r.allows("a", Access::Create, &roles(&["x"]), &no_policy));
        assert!(!r.allows("a", Access::Read, &roles(&["admin"]), &no_policy));
        assert_eq!(reserved("foo"), "Attribute 'foo' is reserved.");
    }
}
