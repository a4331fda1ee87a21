-- Orthanc Lua script: when a study becomes stable (no new instance for Orthanc's StableAge
-- seconds), ask the imaging CDS service to analyse it, so that results are ready before the
-- EHR's hook asks. Install: add this file to Orthanc's "LuaScripts" and an "ImagingCdsTrigger"
-- section to its configuration:
--
--   "ImagingCdsTrigger": {
--     "Url": "https://imaging-cds.example.org/triggers/pacs/stable-study",
--     "Secret": "<the service's PACS_TRIGGER_SECRET, at least 32 characters>"
--   }
--
-- The service answers 202 whether it queued the study or already knew it (the job key makes a
-- repeated event a no-op), 401 for a wrong secret, 503 when its queue is full. A refused study is
-- not lost: the hook that later asks for it analyses it then. Only the StudyInstanceUID is sent.

function OnStableStudy(studyId, tags, metadata)
  local settings = GetOrthancConfiguration()['ImagingCdsTrigger']
  if settings == nil or settings['Url'] == nil or settings['Secret'] == nil then
    print('imaging-cds trigger: no ImagingCdsTrigger.Url/Secret in the configuration; study not sent')
    return
  end
  local uid = tags['StudyInstanceUID']
  if uid == nil then
    print('imaging-cds trigger: stable study ' .. studyId .. ' has no StudyInstanceUID')
    return
  end
  local body = DumpJson({ StudyInstanceUID = uid }, true)
  local headers = {
    ['Authorization'] = 'Bearer ' .. settings['Secret'],
    ['Content-Type'] = 'application/json',
  }
  -- HttpPost raises an error for a failed call or a non-2xx answer: log it (by Orthanc's id,
  -- not the UID) and carry on, so one unreachable service never blocks Orthanc's Lua thread.
  local ok = pcall(HttpPost, settings['Url'], body, headers)
  if ok then
    print('imaging-cds trigger: sent stable study ' .. studyId)
  else
    print('imaging-cds trigger: the service did not accept stable study ' .. studyId .. ' (see its log; a later hook analyses it)')
  end
end
