//! The URI templates `#[mcp_resource]` accepts: the variables of an RFC 6570
//! template, checked as the server checks them when it registers the
//! resource, so a template the macro accepts never fails at run time.
//!
//! Plain `std`, no `syn`: the differential fuzz target in `fuzz/` compiles
//! this file on its own and compares it with the server's parser.

/// The variables of an RFC 6570 template, in order, or why it is invalid.
pub(crate) fn template_variables(template: &str) -> Result<Vec<String>, String> {
    let mut variables = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| "a `{` is never closed".to_owned())?
            + open;
        let expression = &rest[open + 1..close];
        let names = expression.trim_start_matches(['+', '#', '?']);
        if names.len() + 1 < expression.len() {
            return Err(format!("`{{{expression}}}` has more than one operator"));
        }
        if let Some(op) = names.chars().next().filter(|c| "/;.&=,!@|".contains(*c)) {
            return Err(format!("the `{op}` operator is not supported"));
        }
        let operator = expression.chars().next().filter(|c| "+#?".contains(*c));
        if operator != Some('?') && names.contains(',') {
            return Err(format!(
                "`{{{expression}}}`: list variables are only supported in `{{?a,b}}`"
            ));
        }
        for name in names.split(',') {
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`{{{expression}}}` has an invalid variable name"));
            }
            if variables.iter().any(|v| v == name) {
                return Err(format!("the variable `{name}` appears twice"));
            }
            variables.push(name.to_owned());
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` is never opened".into());
    }
    Ok(variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables_are_found() {
        assert_eq!(
            template_variables("a://{x}/{+y}{?z,w}").unwrap(),
            ["x", "y", "z", "w"]
        );
        assert!(template_variables("a://static").unwrap().is_empty());
        assert!(template_variables("a://{x").is_err());
        assert!(template_variables("a://{x}/{x}").is_err());
        assert!(template_variables("a://{/x}").is_err());
    }
}
