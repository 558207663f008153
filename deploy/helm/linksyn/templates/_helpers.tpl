{{- define "linksyn.name" -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}

{{- define "linksyn.labels" -}}
app.kubernetes.io/name: linksyn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "linksyn.image" -}}{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}{{- end -}}

{{/* Every LinkSyn process (code server, run pods) reads the same data dir, seeds and secrets. */}}
{{- define "linksyn.env" -}}
- name: LINKSYN_DATA_DIR
  value: {{ .Values.dataDir | quote }}
- name: LINKSYN_SEEDS
  value: {{ .Values.seeds.path | quote }}
- name: LINKSYN_SCRATCH_DIR
  value: /tmp/linksyn-scratch
{{- range $name, $value := .Values.runs.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
- name: LINKSYN_LEDGER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.ledger }}
      key: LINKSYN_LEDGER_URL
{{- end -}}

{{- define "linksyn.envFrom" -}}
- secretRef:
    name: {{ .Values.secrets.storage }}
- secretRef:
    name: {{ .Values.secrets.providerKeys }}
{{- end -}}

{{/* Dagster's processes: the instance config and the database password (the key the K8sRunLauncher also uses). */}}
{{- define "linksyn.dagsterEnv" -}}
- name: DAGSTER_HOME
  value: /opt/dagster/dagster_home
- name: DAGSTER_PG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.passwordSecret }}
      key: postgresql-password
{{- end -}}
