//! The panic handler of bare-metal builds.
//!
//! The codec is written not to panic on any input, so reaching this is a bug. It traps
//! (`udf`, a HardFault on Cortex-M) instead of spinning: a fault is visible to a debugger and
//! to the firmware's fault handler, which can log and reset, while a silent loop only shows up
//! when a watchdog bites. The `PanicInfo` is deliberately ignored: formatting its message
//! would link `core::fmt`, several KiB of flash, into every firmware.

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
        // SAFETY: `udf` only raises an undefined-instruction exception; it touches no memory.
        unsafe {
            core::arch::asm!("udf #0", options(nomem, nostack))
        };
        #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
        core::hint::spin_loop();
    }
}
