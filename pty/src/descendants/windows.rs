//! A Job Object per terminal: its processes are terminated together, and when the last handle
//! to the job closes (the terminal ends, or Grove dies), `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`
//! kills whatever is still in it.

use std::ffi::c_void;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_SET_QUOTA, PROCESS_TERMINATE};

/// An owned job handle.
#[derive(Debug)]
pub(crate) struct Job(HANDLE);

// SAFETY: a job handle may be used from any thread; the Win32 calls on it are thread-safe.
unsafe impl Send for Job {}
// SAFETY: as above; `&Job` only passes the handle to thread-safe Win32 calls.
unsafe impl Sync for Job {}

impl Job {
    /// A new anonymous job that kills its processes when closed.
    pub(crate) fn new() -> std::io::Result<Job> {
        // SAFETY: null attributes and name are allowed: an unnamed job with default security.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let job = Job(handle);
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid "no limits" value.
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `info` is the struct this information class expects, with its exact size.
        let ok = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&raw const info).cast::<c_void>(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(job)
    }

    /// Puts the process `pid` (and so everything it starts from now on) in the job.
    pub(crate) fn assign(&self, pid: u32) -> std::io::Result<()> {
        // SAFETY: OpenProcess has no memory preconditions; a null result is checked.
        let process = unsafe { OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid) };
        if process.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both handles are open and owned here.
        let ok = unsafe { AssignProcessToJobObject(self.0, process) };
        let err = (ok == 0).then(std::io::Error::last_os_error);
        // SAFETY: `process` was opened above and is closed once.
        unsafe { CloseHandle(process) };
        err.map_or(Ok(()), Err)
    }

    /// Terminates every process in the job.
    pub(crate) fn terminate(&self) {
        // SAFETY: the handle is open for as long as `self` lives.
        if unsafe { TerminateJobObject(self.0, 1) } == 0 {
            tracing::warn!(err = %std::io::Error::last_os_error(), "could not end a terminal's Job Object");
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle was created by `new` and is closed exactly once, here.
        unsafe { CloseHandle(self.0) };
    }
}
