//! Writes the TypeScript wire types into the folder given as the first argument.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: gen-types DIR")?;
    grove_orchestrator::wire::export_all(std::path::Path::new(&dir))?;
    Ok(())
}
