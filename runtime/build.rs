//! Builds the runtime as a WebAssembly blob (`WASM_BINARY`), which the node executes.

fn main() {
	#[cfg(all(feature = "std", not(feature = "metadata-hash")))]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();

	// Offline signers check the metadata against this hash (`CheckMetadataHash`).
	#[cfg(all(feature = "std", feature = "metadata-hash"))]
	substrate_wasm_builder::WasmBuilder::init_with_defaults()
		.enable_metadata_hash("KMS", 12)
		.build();
}
