-- Indexes behind the console's filters (jobs by status, listings by city).
CREATE INDEX idx_pipeline_jobs_status ON pipeline.jobs (status, id DESC);
CREATE INDEX idx_locations_city_lower ON public.locations (lower(city));
