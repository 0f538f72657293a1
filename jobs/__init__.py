"""Batch jobs that run beside the platform (CronJobs), one package each."""
