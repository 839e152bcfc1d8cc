//! Builds the runtime as a WebAssembly blob (`WASM_BINARY`), which the node executes.
//!
//! Every feature set gets a blob of its own name (`kms_runtime` followed by the features that
//! change the runtime, e.g. `kms_runtime_fast_runtime_runtime_benchmarks_test_tamper_try_runtime`):
//! the development build, the production build and the benchmarks' build share one
//! `target/release/wbuild/kms-runtime`, and under one name each wrote over the others' blob, so
//! every build after another feature set's re-ran this script, rebuilt the blob and relinked
//! the node, with nothing changed. The crate includes the file named by `KMS_RUNTIME_BLOB` from
//! `OUT_DIR`.

#[cfg(feature = "std")]
fn blob_name() -> String {
	// Every feature of this crate but `std`: each changes what the blob is.
	let features = [
		(cfg!(feature = "fast-runtime"), "fast_runtime"),
		(cfg!(feature = "metadata-hash"), "metadata_hash"),
		(cfg!(feature = "runtime-benchmarks"), "runtime_benchmarks"),
		(cfg!(feature = "test-tamper"), "test_tamper"),
		(cfg!(feature = "try-runtime"), "try_runtime"),
	];
	let mut name = String::from("kms_runtime");
	for (_, feature) in features.iter().filter(|(enabled, _)| *enabled) {
		name.push('_');
		name.push_str(feature);
	}
	name
}

fn main() {
	#[cfg(feature = "std")]
	{
		let name = blob_name();
		println!("cargo:rustc-env=KMS_RUNTIME_BLOB={name}");

		#[cfg(not(feature = "metadata-hash"))]
		substrate_wasm_builder::WasmBuilder::init_with_defaults()
			.set_file_name(name)
			.build();

		// Offline signers check the metadata against this hash (`CheckMetadataHash`).
		#[cfg(feature = "metadata-hash")]
		substrate_wasm_builder::WasmBuilder::init_with_defaults()
			.set_file_name(name)
			.enable_metadata_hash("KMS", 12)
			.build();
	}
}
