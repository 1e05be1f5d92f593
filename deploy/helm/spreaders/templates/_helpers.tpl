{{- define "spreaders.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "spreaders.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "spreaders.labels" -}}
{{ include "spreaders.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: spreaders
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "spreaders.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "spreaders.secretName" -}}
{{ .Values.existingSecret | default (printf "%s-secrets" (include "spreaders.fullname" .)) }}
{{- end -}}

{{/* Pod and container security settings shared by every workload: non-root, nothing extra. */}}
{{- define "spreaders.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "spreaders.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The platform's container, shared by serve and worker (component, args, resources differ). */}}
{{- define "spreaders.platformContainer" -}}
image: {{ include "spreaders.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
envFrom:
  - configMapRef:
      name: {{ include "spreaders.fullname" .root }}-config
  - secretRef:
      name: {{ include "spreaders.secretName" .root }}
securityContext:
  {{- include "spreaders.containerSecurity" . | nindent 2 }}
volumeMounts:
  - name: data
    mountPath: /var/lib/spreaders
  - name: tmp
    mountPath: /tmp
{{- end -}}
