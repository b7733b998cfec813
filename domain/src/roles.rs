//! Roles a roster person can hold. One person can hold several.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Cadre,
    Approver,
    Tutor,
    Reporter,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Cadre,
        Role::Approver,
        Role::Tutor,
        Role::Reporter,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cadre => "cadre",
            Role::Approver => "approver",
            Role::Tutor => "tutor",
            Role::Reporter => "reporter",
            Role::Admin => "admin",
        }
    }

    /// The role's Chinese name, as an office's roster spreadsheet has it.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Cadre => "驻村干部",
            Role::Approver => "审批人",
            Role::Tutor => "辅导师",
            Role::Reporter => "信息员",
            Role::Admin => "管理员",
        }
    }

    /// A role by its English or Chinese name.
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s) || r.zh() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles; stored as the canonical `;`-joined list (`cadre;tutor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Roles(u8);

impl Roles {
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Parses the canonical form; unknown names are reported, not skipped.
    /// Roles separated by `;` (or `；`, `、` as Chinese text has them).
    pub fn parse_list(s: &str) -> Result<Roles, String> {
        let mut roles = Roles::default();
        for part in crate::roster::split_list(s) {
            roles.insert(Role::parse(part).ok_or_else(|| part.to_string())?);
        }
        Ok(roles)
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut roles = Roles::default();
        for r in iter {
            roles.insert(r);
        }
        roles
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Role::as_str).collect();
        f.write_str(&names.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_in_canonical_order() {
        let r = Roles::parse_list("reporter; approver").unwrap();
        assert!(r.contains(Role::Approver) && r.contains(Role::Reporter));
        assert!(!r.contains(Role::Cadre));
        assert_eq!(r.to_string(), "approver;reporter");
        assert_eq!(Roles::parse_list(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn chinese_role_names_and_separators_are_read() {
        let r = Roles::parse_list("审批人；信息员、管理员").unwrap();
        assert_eq!(r.to_string(), "approver;reporter;admin");
        assert_eq!(
            Roles::parse_list("驻村干部; Tutor").unwrap().to_string(),
            "cadre;tutor"
        );
        for role in Role::ALL {
            assert_eq!(Role::parse(role.zh()), Some(role));
        }
    }

    #[test]
    fn unknown_role_is_reported() {
        assert_eq!(Roles::parse_list("cadre;boss"), Err("boss".to_string()));
    }
}
