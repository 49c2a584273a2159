//! The titles of the 45 CFR Part 164 Subpart C provisions the catalog cites, as the regulation
//! names them, so that the report reads like the auditor's checklist.

/// The title of a part: `164.308` Administrative safeguards, `164.312` Technical safeguards.
pub fn part_title(part: &str) -> &'static str {
    match part {
        "164.308" => "Administrative safeguards",
        "164.310" => "Physical safeguards",
        "164.312" => "Technical safeguards",
        "164.314" => "Organizational requirements",
        "164.316" => "Policies and procedures and documentation requirements",
        _ => "Other provisions",
    }
}

/// The title of a standard or implementation specification, e.g. `164.312(e)(1)` Transmission
/// security. Unknown citations get an empty title (the citation itself is always shown).
pub fn section_title(section: &str) -> &'static str {
    match section {
        "164.308(a)(1)(ii)(A)" => "Risk analysis",
        "164.308(a)(1)(ii)(B)" => "Risk management",
        "164.308(a)(1)(ii)(D)" => "Information system activity review",
        "164.308(a)(3)(ii)(A)" => "Authorization and/or supervision",
        "164.308(a)(3)(ii)(B)" => "Workforce clearance procedure",
        "164.308(a)(4)" => "Information access management",
        "164.308(a)(4)(ii)(A)" => "Isolating health care clearinghouse functions",
        "164.308(a)(4)(ii)(B)" => "Access authorization",
        "164.308(a)(4)(ii)(C)" => "Access establishment and modification",
        "164.308(a)(5)(ii)(B)" => "Protection from malicious software",
        "164.308(a)(5)(ii)(C)" => "Log-in monitoring",
        "164.308(a)(5)(ii)(D)" => "Password management",
        "164.308(a)(6)(ii)" => "Response and reporting",
        "164.308(a)(7)(ii)(A)" => "Data backup plan",
        "164.308(a)(7)(ii)(B)" => "Disaster recovery plan",
        "164.308(a)(7)(ii)(C)" => "Emergency mode operation plan",
        "164.308(a)(8)" => "Evaluation",
        "164.312(a)(1)" => "Access control",
        "164.312(a)(2)(i)" => "Unique user identification",
        "164.312(a)(2)(ii)" => "Emergency access procedure",
        "164.312(a)(2)(iii)" => "Automatic logoff",
        "164.312(a)(2)(iv)" => "Encryption and decryption",
        "164.312(b)" => "Audit controls",
        "164.312(c)(1)" => "Integrity",
        "164.312(c)(2)" => "Mechanism to authenticate electronic protected health information",
        "164.312(d)" => "Person or entity authentication",
        "164.312(e)(1)" => "Transmission security",
        "164.312(e)(2)(i)" => "Integrity controls",
        "164.312(e)(2)(ii)" => "Encryption",
        "164.316(b)(2)(i)" => "Time limit",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_the_catalog_cites_has_a_title() {
        for control in hipaa_controls::catalog() {
            for section in control.sections {
                assert!(
                    !section_title(section).is_empty(),
                    "{} cites {section}, which has no title",
                    control.id
                );
                let part = section.split('(').next().unwrap_or(section);
                assert_ne!(part_title(part), "Other provisions", "{section}");
            }
        }
    }
}
