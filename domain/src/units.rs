//! The unit tree: city (市) → county/district (区/县) → township (乡/镇/街道) → village (村).
//! A unit's level is its depth in the tree, so a path fully determines it.

use std::fmt;

/// Level of a unit: its depth in the tree, city = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    City = 1,
    County = 2,
    Township = 3,
    Village = 4,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::City, Level::County, Level::Township, Level::Village];

    pub fn depth(self) -> usize {
        self as usize
    }

    pub fn from_depth(depth: usize) -> Option<Level> {
        Level::ALL.get(depth.checked_sub(1)?).copied()
    }

    /// Stable name used in configuration files and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s.trim())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated unit path such as `贵阳市/乌当区/新堡乡/谷溪村`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitPath(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitPathError {
    #[error("unit path is empty")]
    Empty,
    #[error("unit path has an empty segment")]
    EmptySegment,
    #[error("unit path is deeper than city/county/township/village ({0} levels)")]
    TooDeep(usize),
}

impl UnitPath {
    pub fn parse(s: &str) -> Result<UnitPath, UnitPathError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UnitPathError::Empty);
        }
        let segments: Vec<String> = s.split('/').map(|p| p.trim().to_string()).collect();
        if segments.iter().any(|p| p.is_empty()) {
            return Err(UnitPathError::EmptySegment);
        }
        if segments.len() > Level::ALL.len() {
            return Err(UnitPathError::TooDeep(segments.len()));
        }
        Ok(UnitPath(segments))
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    pub fn name(&self) -> &str {
        self.0.last().map(String::as_str).unwrap_or_default()
    }

    pub fn level(&self) -> Level {
        Level::from_depth(self.0.len()).unwrap_or(Level::Village)
    }

    /// This path and all its ancestors, from the city down (the path itself last).
    pub fn prefixes(&self) -> impl Iterator<Item = UnitPath> + '_ {
        (1..=self.0.len()).map(|n| UnitPath(self.0[..n].to_vec()))
    }

    pub fn parent(&self) -> Option<UnitPath> {
        (self.0.len() > 1).then(|| UnitPath(self.0[..self.0.len() - 1].to_vec()))
    }

    /// The ancestor (or self) at `level`, if the path reaches that deep.
    pub fn at_level(&self, level: Level) -> Option<UnitPath> {
        (self.0.len() >= level.depth()).then(|| UnitPath(self.0[..level.depth()].to_vec()))
    }

    pub fn is_within(&self, ancestor: &UnitPath) -> bool {
        self.0.starts_with(&ancestor.0)
    }
}

impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_levels_follow_depth() {
        let p = UnitPath::parse("贵阳市/乌当区/新堡乡/谷溪村").unwrap();
        assert_eq!(p.level(), Level::Village);
        assert_eq!(p.name(), "谷溪村");
        assert_eq!(
            p.at_level(Level::County).unwrap().to_string(),
            "贵阳市/乌当区"
        );
        assert_eq!(p.prefixes().count(), 4);
        assert_eq!(UnitPath::parse("贵阳市").unwrap().level(), Level::City);
    }

    #[test]
    fn bad_paths_are_refused() {
        assert_eq!(UnitPath::parse(" "), Err(UnitPathError::Empty));
        assert_eq!(
            UnitPath::parse("贵阳市//谷溪村"),
            Err(UnitPathError::EmptySegment)
        );
        assert_eq!(UnitPath::parse("a/b/c/d/e"), Err(UnitPathError::TooDeep(5)));
    }

    #[test]
    fn within_is_prefix_based() {
        let v = UnitPath::parse("贵阳市/乌当区/新堡乡/谷溪村").unwrap();
        let c = UnitPath::parse("贵阳市/乌当区").unwrap();
        let other = UnitPath::parse("贵阳市/花溪区").unwrap();
        assert!(v.is_within(&c));
        assert!(!v.is_within(&other));
    }
}
